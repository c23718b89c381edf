"""The report contract: ``ctx.report(..., checkpoint=state)`` reaches Ray Tune in the call that makes it.

Real sweeps on the shared local Ray with a trainable shaped like users' (tests/trainables/shapes.py),
whose fsynced side file is the ground truth: a trainable that reports twice and then raises keeps
both rows; a trial that ASHA stops at iteration k never starts k+1, checkpointing or not; the old
``ctx.checkpoint`` fails at once with one line naming the new form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import caviar
from caviar.spec.parse import parse_spec
from caviar.trainables.data import DataSpec
from caviar.tune.run import run_sweep
from tests.trainables.recording import RecordingContext
from tests.trainables.shapes import started

pytestmark = pytest.mark.xdist_group("ray")
SHAPES = "tests.trainables.shapes:train"


def shapes_spec(tmp_path: Path, name: str, space: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "trainable": SHAPES,
        "metric": "loss",
        "mode": "min",
        "space": {"log": str(tmp_path / "truth.csv"), **space},
        "storage": str(tmp_path / "results"),
        **extra,
    }


def test_reports_before_an_exception_are_all_kept(tmp_path: Path, ray_local: None) -> None:
    raw = shapes_spec(
        tmp_path,
        "raises",
        {"x": "uniform(0, 1)", "epochs": 5, "raise_after": 2, "checkpoint_every": 0},
        search={"algorithm": "random", "num_samples": 3},
        scheduler={"name": "fifo"},
    )
    outcome = run_sweep(parse_spec(raw), show_progress=False)
    trials = caviar.read_trials(outcome.sweep_uri)
    curves = caviar.read_curves(outcome.sweep_uri)
    assert outcome.errors == 3 and set(trials["status"]) == {"ERROR"}
    assert trials["error"].str.contains("ValueError: blew up after 2 reports").all()
    for trial_id in trials["trial_id"]:
        mine = curves[curves["trial_id"] == trial_id]
        assert mine["iteration"].tolist() == [1, 2], mine  # the second one, then the raise
    assert set(trials["iterations"]) == {2}


@pytest.mark.parametrize("every", [0, 1], ids=["never-checkpoints", "checkpoints"])
def test_a_trial_asha_stops_at_k_never_starts_k_plus_1(
    tmp_path: Path, ray_local: None, every: int
) -> None:
    # x grid 0.9, 0.6, 0.3, 0.0 run one at a time: each later trial is better, so ASHA's rung at 1
    # (reduction 2) keeps the better half of what it saw; 0.9 runs alone first and passes.
    raw = shapes_spec(
        tmp_path,
        f"asha{every}",
        {"x": "grid(0.0, 0.3, 0.6, 0.9)", "epochs": 4, "checkpoint_every": every},
        search={"algorithm": "grid", "num_samples": 2},
        scheduler={"name": "asha", "grace_period": 1, "reduction_factor": 2, "max_t": 4},
        max_concurrent=1,
    )
    outcome = run_sweep(parse_spec(raw), show_progress=False)
    trials = caviar.read_trials(outcome.sweep_uri)
    lines = (tmp_path / "truth.csv").read_text().split()
    begun = started(lines)
    stopped = trials[trials["stopped_early"]]
    assert len(stopped) >= 2, trials[["x", "iterations", "stopped_early"]]
    for row in stopped.itertuples():
        assert row.iterations < 4
        assert (row.trial_id, row.iterations) in begun
        assert (row.trial_id, row.iterations + 1) not in begun, (row.trial_id, lines)
    curves = caviar.read_curves(outcome.sweep_uri)
    assert len(curves) == int(trials["iterations"].sum())


def test_the_old_checkpoint_call_fails_at_once_naming_the_new_form() -> None:
    ctx = RecordingContext(DataSpec.from_dict({"synthetic": "classification"}))
    ctx.report(loss=1.0)
    with pytest.raises(TypeError, match=r"ctx\.report\(val_loss=\.\.\., checkpoint=state\)"):
        ctx.checkpoint({"epoch": 1})
    ctx.report(loss=0.5, checkpoint={"epoch": 2})
    assert ctx.reports == [{"loss": 1.0}, {"loss": 0.5}]
    assert ctx.checkpoints == [(2, {"epoch": 2})]
