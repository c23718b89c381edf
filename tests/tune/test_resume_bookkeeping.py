"""Bookkeeping across pauses and resumes: time limits, edited specs, torn snapshots (issue 23)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler
from ray.tune.search import Searcher

from caviar.search_spaces import Space
from caviar.spec.parse import parse_spec
from caviar.tune.limits import TrialTimeLimit
from caviar.tune.optuna_search import tpe_searcher
from caviar.tune.reconcile import RestoredTrial, reconcile
from caviar.tune.resolved import spec_yaml
from caviar.tune.searchers import ConfirmingSearcher, SpaceSearcher
from tests.conftest import run_cli
from tests.results.synthetic import drive, make_callback, make_trials


class Controller:
    """The two calls of Tune's controller that TrialTimeLimit makes, over a list of real Trials."""

    def __init__(self, trials: list[Trial]) -> None:
        self.trials = trials
        self.stopped: list[str] = []

    def get_live_trials(self) -> list[Trial]:
        return [t for t in self.trials if t.status in (Trial.RUNNING, Trial.PAUSED)]

    def get_trials(self) -> list[Trial]:
        return self.trials

    def stop_trial(self, trial: Trial) -> None:
        self.stopped.append(trial.trial_id)


def test_trial_time_limit_counts_running_time_not_time_paused() -> None:
    """HyperBand pauses trials at its rungs: the paused time was counted and they were killed."""
    trial = Trial("x", config={}, trial_id="paused", stub=True)
    limit = TrialTimeLimit(FIFOScheduler(), limit_s=1.0)  # type: ignore[no-untyped-call]
    controller = Controller([trial])
    result: dict[str, Any] = {"training_iteration": 1}

    trial.status = Trial.RUNNING
    limit.choose_trial_to_run(controller)
    time.sleep(0.2)
    assert limit.on_trial_result(controller, trial, result) == FIFOScheduler.CONTINUE
    trial.status = Trial.PAUSED  # the scheduler paused it at a rung
    limit.choose_trial_to_run(controller)
    time.sleep(1.5)  # longer than the limit, all of it paused
    limit.choose_trial_to_run(controller)
    trial.status = Trial.RUNNING
    limit.choose_trial_to_run(controller)
    time.sleep(0.1)
    limit.choose_trial_to_run(controller)
    assert controller.stopped == []
    assert limit.on_trial_result(controller, trial, result) == FIFOScheduler.CONTINUE

    time.sleep(1.0)  # now it has run past the limit
    assert limit.on_trial_result(controller, trial, result) == FIFOScheduler.STOP
    assert "trial_time_limit_s: stopped after 1 s" in trial.caviar_stop_reason


def test_a_resume_after_num_samples_was_edited_refuses_in_one_line(tmp_path: Path) -> None:
    """Tune restores the sweep as it started: every resume ended 'interrupted', exit 130."""
    callback = make_callback(tmp_path / "s", flush_rows=2, flush_seconds=1e9)
    callback.setup()
    list(drive(callback, make_trials(2), range(1, 3)))
    callback.flush()
    written = yaml.safe_load((tmp_path / "s" / "sweep.yaml").read_text())
    spec = yaml.safe_load(spec_yaml(parse_spec(written)))  # as run: the recommended mode
    spec["search"]["num_samples"] = 50
    (tmp_path / "s" / "sweep.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    result = run_cli("resume", str(tmp_path / "s"))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "was edited after the sweep started (search differ" in lines[0]
    assert not (tmp_path / "s" / "tune").exists()  # refused before Ray started


def test_tpe_is_given_the_restored_trials_its_state_never_saw() -> None:
    """Fast slice of the torn-snapshot test: OptunaSearch's KeyError at an unknown trial's report."""
    searcher = tpe_searcher(Space.from_dict({"x": "uniform(0, 1)"}), 0, "score", "max")
    assert searcher.suggest("known") is not None
    restored = [
        RestoredTrial("known", "TERMINATED", {"x": 0.5}),
        RestoredTrial("unseen", "RUNNING", {"x": 0.7}),  # created after the searcher's save
        RestoredTrial("unseen_done", "TERMINATED", {"x": 0.1}),
    ]
    reconcile(searcher, restored)
    searcher.on_trial_result("unseen", {"score": 1.0, "training_iteration": 1})
    searcher.on_trial_complete("unseen", {"score": 1.0, "training_iteration": 1})
    assert searcher.suggest("next") is not None


def test_confirm_continues_from_the_trial_list_not_a_state_ahead_of_it() -> None:
    """Fast slice: live trials the list lost kept the confirmations waiting forever."""
    space = Space.from_dict({"x": "uniform(0, 1)"})
    inner = SpaceSearcher(space, seed=0, total=3)
    confirming = ConfirmingSearcher(inner, top_k=1, seeds=2, seed=0, metric="score", mode="max")
    ids = ["t0", "t1", "t2"]
    configs = [confirming.suggest(trial_id) for trial_id in ids]
    for trial_id in ids[:2]:
        confirming.on_trial_complete(trial_id, {"score": 1.0})
    # Restored: the searcher's state saved while t2 ran; the trial list of a save before t2.
    restored = [
        RestoredTrial(t, "TERMINATED", dict(c or {}))
        for t, c in zip(ids[:2], configs[:2], strict=True)
    ]
    reconcile(confirming, restored)
    again = confirming.suggest("t2b")
    assert again is not None and again["x"] == configs[2]["x"]  # t2 is made again
    assert confirming.suggest("wait") is None  # the search is not over until t2b ends
    confirming.on_trial_complete("t2b", {"score": 0.5})
    made = [confirming.suggest(f"c{k}") for k in range(3)]
    assert [m["confirm_of"] for m in made[:2] if m] == ["t0", "t0"]
    assert made[2] == Searcher.FINISHED
