"""Limits on single trials: a wall-clock time limit, and stopping a trial whose metric is NaN.

A NaN or infinite metric means the trial diverged: it is stopped on that result, as a scheduler
stops a loser (TERMINATED, ``stopped_early`` and ``diverged`` true in trials.parquet), which is
what the built-in mlp does by itself.

Ray Tune's stoppers only run when a trial reports, so they cannot stop a trial that hangs without
reporting. The scheduler, though, is asked ``choose_trial_to_run`` at every step of Tune's loop,
with the controller's ``stop_trial`` at hand: ``TrialTimeLimit`` wraps the sweep's scheduler and
stops, at any step, a trial that has been running longer than ``trial_time_limit_s``. Tune kills
an actor that does not stop when asked (after 10 s), so a hung trial frees its resources.

Stopped trials are TERMINATED for Tune (they are not resumed); the reason is left on the trial
(``caviar.tune.callbacks_results.STOP_REASON``) for the results table, which records them as ERROR.
"""

from __future__ import annotations

import math
import time
from typing import Any

from ray.tune import Callback
from ray.tune.experiment import Trial
from ray.tune.schedulers import TrialScheduler
from ray.tune.stopper import Stopper

from caviar.tune import compat
from caviar.tune.callbacks_results import STOP_REASON
from caviar.tune.wrappers import SchedulerWrapper


class TrialTimeLimit(SchedulerWrapper):
    """The sweep's scheduler, plus: a trial running longer than ``limit_s`` is stopped."""

    def __init__(self, inner: TrialScheduler, limit_s: float) -> None:
        super().__init__(inner)
        self.limit_s = limit_s
        self._started: dict[str, float] = {}  # since when each trial runs (not paused)
        self._spent: dict[str, float] = {}  # what each ran before its last pause

    def on_trial_error(self, tune_controller: Any, trial: Trial) -> None:
        self._forget(trial)
        self.inner.on_trial_error(tune_controller, trial)

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> str:
        decision = self.inner.on_trial_result(tune_controller, trial, result)
        if self._overdue(trial):
            return TrialScheduler.STOP  # type: ignore[no-any-return]
        if decision == TrialScheduler.PAUSE:  # HyperBand: time paused is not the trial's
            self._pause(trial.trial_id)
        return decision  # type: ignore[no-any-return]

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> None:
        self._forget(trial)
        self.inner.on_trial_complete(tune_controller, trial, result)

    def on_trial_remove(self, tune_controller: Any, trial: Trial) -> None:
        self._forget(trial)
        self.inner.on_trial_remove(tune_controller, trial)

    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        """Called at every step of Tune's loop: stop the overdue trials, then ask the scheduler."""
        for trial in list(tune_controller.get_live_trials()):
            if self._overdue(trial):
                tune_controller.stop_trial(trial)
        return self.inner.choose_trial_to_run(tune_controller)  # type: ignore[no-any-return]

    def _overdue(self, trial: Trial) -> bool:
        """Whether ``trial`` has been running for longer than the limit (marks it if so).

        Only running time counts: a trial that a scheduler paused (HyperBand) is not timed.
        """
        if trial.status != Trial.RUNNING:
            self._pause(trial.trial_id)
            return False
        now = time.monotonic()
        started = self._started.setdefault(trial.trial_id, now)
        elapsed = self._spent.get(trial.trial_id, 0.0) + now - started
        if elapsed <= self.limit_s:
            return False
        iteration = (trial.last_result or {}).get("training_iteration", 0)
        compat.set_trial_note(
            trial,
            STOP_REASON,
            f"trial_time_limit_s: stopped after {elapsed:.0f} s "
            f"(limit {self.limit_s:g} s), at iteration {iteration}",
        )
        return True

    def _pause(self, trial_id: str) -> None:
        started = self._started.pop(trial_id, None)
        if started is not None:
            self._spent[trial_id] = self._spent.get(trial_id, 0.0) + time.monotonic() - started

    def _forget(self, trial: Trial) -> None:
        self._started.pop(trial.trial_id, None)
        self._spent.pop(trial.trial_id, None)


class NonFiniteMetricStopper(Stopper):  # type: ignore[misc]
    """Stop a trial as soon as the sweep's metric is NaN or infinite: it has diverged."""

    def __init__(self, metric: str) -> None:
        self.metric = metric

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        value = result.get(self.metric)
        return isinstance(value, float) and not math.isfinite(value)

    def stop_all(self) -> bool:
        return False


class UnstartedTrialDirs(Callback):  # type: ignore[misc]
    """Trials the sweep ended before they started (its time budget ran out, it was stopped, or
    HyperBand held them PENDING for a later bracket) get their directory name before Tune builds
    the ResultGrid, which otherwise fails on the first of them ('Should not access trial_fs_path
    without setting trial_dir_name'), losing the end of the sweep."""

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        for trial in trials:
            compat.name_trial_dir(trial)


def with_time_limit(scheduler: TrialScheduler, limit_s: float | None) -> TrialScheduler:
    """The sweep's scheduler, wrapped in ``TrialTimeLimit`` when a limit is set."""
    return scheduler if limit_s is None else TrialTimeLimit(scheduler, limit_s)
