"""`loggers: [tensorboard]` switches on Ray Tune's TensorBoard logger; by default only Parquet."""

from __future__ import annotations

from pathlib import Path

import pytest

import caviar
from caviar.orchestrator.run import run_sweep
from caviar.orchestrator.spec import parse_spec

pytestmark = pytest.mark.xdist_group("ray")


def spec(tmp_path: Path, name: str, **extra: object) -> dict[str, object]:
    return {
        "name": name,
        "trainable": "tests.results.killable:train",
        "metric": "score",
        "mode": "max",
        "space": {"x": "uniform(0, 1)", "epochs": 2, "sleep": 0.0},
        "search": {"num_samples": 2},
        "storage": str(tmp_path / "results"),
        **extra,
    }


def test_tensorboard_logger_writes_event_files_next_to_parquet(
    ray_local: None, tmp_path: Path
) -> None:
    outcome = run_sweep(parse_spec(spec(tmp_path, "tb", loggers=["tensorboard"])), False)
    assert outcome.trials == 2 and not outcome.errors
    events = list((tmp_path / "results" / "tb" / "tune").rglob("events.out.tfevents.*"))
    assert len(events) == 2 and all(e.stat().st_size > 0 for e in events)
    assert len(caviar.read_curves(str(tmp_path / "results" / "tb"))) == 4

    run_sweep(parse_spec(spec(tmp_path, "plain")), False)
    assert not list((tmp_path / "results" / "plain").rglob("events.out.tfevents.*"))
