"""Faults inside trials: one raises, one hangs, one's loss turns NaN, one runs out of memory.

One grid sweep runs a trial of each kind next to a healthy one, on the shared embedded Ray. Each
fault must be recorded on its trial (ERROR with the error text; a NaN loss is a divergence, stopped
at once like a loser of the sweep) while the others finish, and every
(trial_id, iteration) that was reported must be in Parquet exactly once.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import caviar
from caviar.spec.parse import parse_spec
from caviar.tune.run import SweepOutcome, run_sweep
from tests.faults.summary import FaultRecord
from tests.faults.truth import injected, rows_lost

pytestmark = [pytest.mark.faults, pytest.mark.xdist_group("ray")]
EPOCHS, TIME_LIMIT_S = 4, 12  # the limit counts from the trial start, worker start-up included


@pytest.fixture(scope="module")
def sweep(ray_local: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("trial_faults")
    ground_truth = root / "ground_truth.csv"
    spec = {
        "name": "trial_faults",
        "trainable": "tests.faults.faulty:train",
        "metric": "loss",
        "mode": "min",
        "space": {
            "fault": 'grid("none", "raise", "nan", "hang", "oom")',
            "x": "uniform(0, 1)",
            "epochs": EPOCHS,
            "sleep": 0.05,
            "log": str(ground_truth),
        },
        "search": {"algorithm": "grid", "num_samples": 1},
        "scheduler": {"name": "fifo"},
        "trial_time_limit_s": TIME_LIMIT_S,
        "storage": str(root / "results"),
    }
    outcome = run_sweep(parse_spec(spec), False)
    path = str(root / "results" / "trial_faults")
    trials = caviar.read_trials(path).set_index("fault")
    return {"outcome": outcome, "path": path, "trials": trials, "truth": ground_truth}


def _check(sweep: dict[str, Any], fault: FaultRecord, kind: str) -> pd.Series:
    """The row of the trial with ``kind``; records the injection and the rows lost."""
    row = sweep["trials"].loc[kind]
    if row["trial_id"] in injected(sweep["truth"], kind):
        fault.inject()
    fault.lost(rows_lost(sweep["path"], sweep["truth"]))
    healthy = sweep["trials"].loc["none"]
    assert healthy["status"] == "TERMINATED" and healthy["iterations"] == EPOCHS
    assert fault.rows_lost == 0
    return row


def test_the_sweep_finishes_with_every_trial_recorded(sweep: dict[str, Any]) -> None:
    outcome: SweepOutcome = sweep["outcome"]
    assert outcome.trials == 5 and outcome.errors == 3 and not outcome.interrupted
    curves = caviar.read_curves(sweep["path"])
    for _, row in sweep["trials"].iterrows():
        mine = curves[curves["trial_id"] == row["trial_id"]]
        assert mine["iteration"].tolist() == list(range(1, row["iterations"] + 1))


def test_a_trial_that_raises_is_an_error_with_its_text(
    sweep: dict[str, Any], fault: FaultRecord
) -> None:
    row = _check(sweep, fault, "raise")
    assert row["status"] == "ERROR" and row["iterations"] == 1
    assert "ValueError: injected failure for x=" in row["error"]


def test_a_hanging_trial_is_stopped_by_the_time_limit(
    sweep: dict[str, Any], fault: FaultRecord
) -> None:
    row = _check(sweep, fault, "hang")
    assert row["status"] == "ERROR" and row["iterations"] == 1
    assert row["error"].startswith("trial_time_limit_s: stopped after"), row["error"]


def test_a_nan_loss_stops_the_trial_at_once_keeping_its_rows(
    sweep: dict[str, Any], fault: FaultRecord
) -> None:
    row = _check(sweep, fault, "nan")
    assert row["status"] == "TERMINATED" and row["stopped_early"] and row["diverged"]
    assert pd.isna(row["error"])
    curves = caviar.read_curves(sweep["path"], trial_ids=[row["trial_id"]])
    assert curves["iteration"].tolist() == [1, 2, 3]  # stopped at the NaN, which is kept
    assert curves["loss"].isna().tolist() == [False, False, True]


def test_a_trial_out_of_memory_is_an_error(sweep: dict[str, Any], fault: FaultRecord) -> None:
    row = _check(sweep, fault, "oom")
    assert row["status"] == "ERROR" and row["iterations"] == 1
    assert "MemoryError" in row["error"], row["error"]
