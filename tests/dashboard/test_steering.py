"""Steering a real running sweep through the requests stored with it (no browser)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import caviar
from caviar.results.control import (
    read_requests,
    request_add_trials,
    request_stop_sweep,
    request_stop_trial,
)
from caviar.results.store import SweepStore
from caviar.spec.parse import parse_spec
from caviar.tune.run import resume_sweep, run_sweep
from tests.dashboard.steady import reported, steady_spec

pytestmark = pytest.mark.xdist_group("ray")


def _running_trial(sweep: str, min_iterations: int, timeout: float = 60) -> str:
    """Wait until trials.parquet shows a RUNNING trial with at least ``min_iterations``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            trials = caviar.read_trials(sweep)
        except (FileNotFoundError, OSError):
            trials = None
        if trials is not None and len(trials) and "iterations" in trials:
            running = trials[
                (trials["status"] == "RUNNING") & (trials["iterations"] >= min_iterations)
            ]
            if len(running):
                return str(running["trial_id"].iloc[0])
        time.sleep(0.2)
    raise AssertionError("no trial was seen running")


def test_stop_one_trial_and_add_two_while_the_sweep_runs(tmp_path: Path, ray_local: None) -> None:
    log = tmp_path / "reports.log"
    spec = parse_spec(steady_spec(tmp_path / "results", log, trials=2, epochs=30, sleep=0.1))
    sweep = spec.sweep_uri
    asked: dict[str, str] = {}

    def steer() -> None:
        asked["trial"] = _running_trial(sweep, 2)
        request_stop_trial(sweep, asked["trial"])
        request_add_trials(sweep, 2)

    thread = threading.Thread(target=steer, daemon=True)
    thread.start()
    outcome = run_sweep(spec, show_progress=False)
    thread.join(timeout=5)

    assert not outcome.interrupted
    trials = caviar.read_trials(sweep).set_index("trial_id")
    assert len(trials) == 4  # 2 planned + 2 added
    stopped = trials.loc[asked["trial"]]
    assert stopped["status"] == "STOPPED"
    assert 2 <= stopped["iterations"] < 30
    assert (trials.drop(index=asked["trial"])["status"] == "TERMINATED").all()
    # Every trial's rows are those it reported; the stopped one's, up to where it stopped.
    curves = caviar.read_curves(sweep)
    truth = reported(log)
    for trial_id, rows in curves.groupby("trial_id"):
        stored = set(rows["iteration"])
        if trial_id == asked["trial"]:
            assert stored == set(range(1, int(stopped["iterations"]) + 1))
            assert stored <= truth[str(trial_id)]
        else:
            assert stored == truth[str(trial_id)]
    # The added trials continue the searcher's stream: four distinct configs.
    assert trials["x"].nunique() == 4
    # The requests stay with the sweep; a resume reads them again and adds nothing twice.
    resumed = resume_sweep(sweep, show_progress=False)
    again = caviar.read_trials(sweep).set_index("trial_id")
    assert resumed.trials == 4 and not resumed.interrupted
    assert again.loc[asked["trial"], "status"] == "STOPPED"


def test_stop_sweep_stops_the_running_trials_and_starts_no_more(
    tmp_path: Path, ray_local: None
) -> None:
    log = tmp_path / "reports.log"
    spec = parse_spec(steady_spec(tmp_path / "results", log, trials=6, epochs=30, sleep=0.1))

    def steer() -> None:
        _running_trial(spec.sweep_uri, 2)
        request_stop_sweep(spec.sweep_uri)

    thread = threading.Thread(target=steer, daemon=True)
    thread.start()
    outcome = run_sweep(spec, show_progress=False)
    thread.join(timeout=5)

    trials = caviar.read_trials(spec.sweep_uri)
    assert not outcome.interrupted  # a person stopped it: not a crash to resume
    assert len(trials) == 2
    assert set(trials["status"]) == {"STOPPED"}
    store = SweepStore.at(spec.sweep_uri)
    assert [r.action for r in read_requests(store)] == ["stop_sweep"]


def test_requests_are_checked_and_need_a_sweep(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no caviar sweep"):
        request_stop_sweep(str(tmp_path))
    (tmp_path / "sweep.yaml").write_text("name: x\n")
    with pytest.raises(ValueError, match="trials: must be an integer from 1"):
        request_add_trials(str(tmp_path), 0)
    with pytest.raises(ValueError, match="TRIAL: not a trial id"):
        request_stop_trial(str(tmp_path), "../x")
    first = request_add_trials(str(tmp_path), 3)
    second = request_stop_trial(str(tmp_path), "abc")
    assert [r.id for r in read_requests(SweepStore.at(str(tmp_path)))] == [first.id, second.id]
