"""kill -9 of `caviar run` mid-sweep, then `caviar resume`: the sweep ends with exactly num_samples
trials, and no trial that had finished runs again, for each search algorithm (each keeps its state).

The trainable (tests/results/killable.py) logs every (trial_id, iteration) it reports, fsynced, as
ground truth. The whole process group is killed (driver, GCS, raylet, workers).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import caviar
from tests.conftest import kill_when
from tests.results.killable import GROUND_TRUTH_ENV, killable_spec

EPOCHS, TRIALS = 5, 6


def snapshot_statuses(sweep: Path) -> dict[str, str]:
    """Trial statuses in Tune's newest experiment snapshot on storage: what a resume restarts from."""
    snapshots = sorted((sweep / "tune").glob("experiment_state-*.json"))
    if not snapshots:
        return {}
    try:
        state = json.loads(snapshots[-1].read_text())
    except (OSError, ValueError):  # being replaced right now
        return {}
    statuses = {}
    for trial_json, _ in state["trial_data"]:
        trial = json.loads(trial_json)
        statuses[trial["trial_id"]] = trial["status"]
    return statuses


def finished_trials(sweep: Path) -> set[str]:
    return {t for t, status in snapshot_statuses(sweep).items() if status == "TERMINATED"}


def log_lines(path: Path) -> list[tuple[str, int]]:
    if not path.exists():
        return []
    return [(t, int(i)) for t, i in (line.split(",") for line in path.read_text().split())]


@pytest.mark.slow  # 30-60 s each: three Ray starts
@pytest.mark.parametrize(
    "search",
    [
        {"algorithm": "random", "num_samples": TRIALS},
        {"algorithm": "tpe", "num_samples": TRIALS, "n_startup_trials": 2},
        {"algorithm": "coarse_to_fine", "num_samples": TRIALS, "rounds": 2, "top_k": 2},
    ],
    ids=["random", "tpe", "coarse_to_fine"],
)
def test_kill_9_mid_sweep_then_resume_finishes_without_rerunning(
    tmp_path: Path, search: dict[str, Any]
) -> None:
    ground_truth = tmp_path / "ground_truth.csv"
    spec = killable_spec(
        "killed", tmp_path / "results", EPOCHS, 1.0, search=search, max_concurrent=2
    )
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    sweep = tmp_path / "results" / "killed"
    env = {**os.environ, GROUND_TRUTH_ENV: str(ground_truth)}
    process = subprocess.Popen(
        [sys.executable, "-m", "caviar.cli", "run", str(tmp_path / "spec.yaml"), "--num-cpus", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    # Kill as soon as Tune's saved snapshot has a finished trial (more trials are to come).
    kill_when(process, lambda: bool(finished_trials(sweep)), "a trial finished")
    finished = finished_trials(sweep)
    before = len(log_lines(ground_truth))
    assert 0 < len(finished) < TRIALS

    resumed = subprocess.run(
        [sys.executable, "-m", "caviar.cli", "resume", str(sweep)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    trials = caviar.read_trials(str(sweep))
    assert len(trials) == TRIALS, trials
    assert set(trials["status"]) == {"TERMINATED"}, trials[
        ["trial_id", "status", "error"]
    ].to_string()
    assert (trials["iterations"] == EPOCHS).all()
    assert finished <= set(trials["trial_id"])
    after = log_lines(ground_truth)[before:]
    rerun = {t for t, _ in after if t in finished}
    assert not rerun, f"finished trials ran again after resume: {rerun}"
    curves = caviar.read_curves(str(sweep))
    assert len(curves) == TRIALS * EPOCHS
    assert not curves.duplicated(["trial_id", "iteration"]).any()
    # Every checkpoint was kept while it ran (a resume may need an old one); only the last stays.
    for trial_id in trials["trial_id"]:
        assert len(list((sweep / "tune" / trial_id).glob("checkpoint_*"))) == 1
    if search["algorithm"] == "coarse_to_fine":
        assert sorted(trials["round"]) == [1, 1, 1, 2, 2, 2]
