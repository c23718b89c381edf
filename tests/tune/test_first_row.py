"""A trial's first report reaches curves/ within seconds, while the trial still runs.

The trainable (tests/tune/first_row.py) reports once and then looks for that row in Parquet
itself, so the test needs no clock of its own: a generous wait, and the trial's own verdict.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import caviar
from caviar.spec.parse import parse_spec
from caviar.tune.run import run_sweep

pytestmark = pytest.mark.xdist_group("ray")


def test_the_first_report_is_in_curves_while_the_trial_still_runs(
    tmp_path: Path, ray_local: None
) -> None:
    storage = tmp_path / "results"
    curves = storage / "first_row" / "curves"
    spec = parse_spec(
        {
            "name": "first_row",
            "trainable": "tests.tune.first_row:train",
            "metric": "score",
            "mode": "max",
            "space": {"curves": f'choice("{curves}")', "wait_s": 60},
            "search": {"num_samples": 1},
            "storage": str(storage),
        }
    )
    outcome = run_sweep(spec, show_progress=False)
    rows = caviar.read_curves(outcome.sweep_uri).sort_values("iteration")
    assert list(rows["iteration"]) == [1, 2]
    last = rows.iloc[-1]
    assert last["first_row_seen"] == 1, f"no row in curves/ after {last['waited_s']:.1f} s"
