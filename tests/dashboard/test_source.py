"""caviar.dashboard.source: the sweep's objective comes from the stored spec, as the report reads it."""

from __future__ import annotations

from pathlib import Path

import yaml

from caviar.dashboard.source import SweepSource
from tests.results.report_data import write_sweep


def test_a_multi_objective_sweep_is_shown_by_its_first_objective(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, trials=4)
    path = Path(sweep) / "sweep.yaml"
    spec = yaml.safe_load(path.read_text())
    path.write_text(
        yaml.safe_dump({**spec, "metric": ["loss", "n_params"], "mode": ["max", "min"]})
    )
    source = SweepSource(sweep)
    assert (source.metric, source.mode) == ("loss", "max")  # was the text of the whole list


def test_a_spec_without_a_metric_falls_back_to_loss(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, trials=4)
    path = Path(sweep) / "sweep.yaml"
    spec = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({k: v for k, v in spec.items() if k not in ("metric", "mode")}))
    source = SweepSource(sweep)
    assert (source.metric, source.mode) == ("loss", "min")
