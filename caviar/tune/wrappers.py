"""The one wrapper around Ray's scheduler that every caviar addition to scheduling builds on.

``SchedulerWrapper`` hands every decision to ``inner`` (Ray's scheduler, or another wrapper).
A subclass changes only what it adds:

* ``passes(trial)`` (with ``lets_trials_pass``): trials the inner rule must neither cut nor count
  in its rungs; they just run to the end (confirmation trials, continued trials);
* ``ready()``: runs before every call reaches ``inner`` (the resumable scheduler's saved state is
  applied there, once Tune has re-added the restored trials);
* any ``on_*`` or ``choose_trial_to_run`` it extends (the trial time limit, steering), calling
  ``super()`` for the inner decision.

Wrappers nest: the sweep's scheduler is Ray's, inside ``ResumableScheduler``, inside the
confirmation pass-through, the time limit and steering; ``chain`` walks them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import TrialScheduler


class SchedulerWrapper(TrialScheduler):  # type: ignore[misc]
    """A scheduler that hands every decision to ``inner``: the base of caviar's wrappers."""

    note = ""  # what the wrapper adds, for Tune's debug string
    lets_trials_pass = False  # True: trials that ``passes`` picks bypass ``inner``

    def __init__(self, inner: TrialScheduler) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not yet set while unpickling
            raise AttributeError(name)
        return getattr(self.inner, name)

    def passes(self, trial: Trial) -> bool:
        """Whether ``trial`` bypasses the inner scheduler (runs to the end)."""
        return False

    def ready(self) -> None:
        """Called before any call reaches ``inner``."""

    def _inner_for(self, trial: Trial) -> TrialScheduler | None:
        if self.lets_trials_pass and self.passes(trial):
            return None
        self.ready()
        return self.inner

    @property
    def metric(self) -> str | None:
        return self.inner.metric  # type: ignore[no-any-return]

    @property
    def supports_buffered_results(self) -> bool:
        return bool(self.inner.supports_buffered_results)

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        return bool(self.inner.set_search_properties(metric, mode, **spec))

    def on_trial_add(self, tune_controller: Any, trial: Trial) -> None:
        inner = self._inner_for(trial)
        if inner is not None:
            inner.on_trial_add(tune_controller, trial)

    def on_trial_error(self, tune_controller: Any, trial: Trial) -> None:
        inner = self._inner_for(trial)
        if inner is not None:
            inner.on_trial_error(tune_controller, trial)

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> str:
        inner = self._inner_for(trial)
        if inner is None:
            return TrialScheduler.CONTINUE  # type: ignore[no-any-return]
        return inner.on_trial_result(tune_controller, trial, result)  # type: ignore[no-any-return]

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> None:
        inner = self._inner_for(trial)
        if inner is not None:
            inner.on_trial_complete(tune_controller, trial, result)

    def on_trial_remove(self, tune_controller: Any, trial: Trial) -> None:
        inner = self._inner_for(trial)
        if inner is not None:
            inner.on_trial_remove(tune_controller, trial)

    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        self.ready()
        chosen = self.inner.choose_trial_to_run(tune_controller)
        if chosen is not None or not self.lets_trials_pass:
            return chosen  # type: ignore[no-any-return]
        for trial in tune_controller.get_trials():  # HyperBand picks only from its own brackets
            if trial.status == Trial.PENDING and self.passes(trial):
                return trial  # type: ignore[no-any-return]
        return None

    def debug_string(self) -> str:
        inner = str(self.inner.debug_string())
        return f"{inner} ({self.note})" if self.note else inner

    def save(self, checkpoint_path: str) -> None:
        self.inner.save(checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        self.inner.restore(checkpoint_path)


def chain(scheduler: TrialScheduler) -> Iterator[TrialScheduler]:
    """``scheduler``, then each scheduler it wraps, down to Ray's own."""
    while True:
        yield scheduler
        if not isinstance(scheduler, SchedulerWrapper):
            return
        scheduler = scheduler.inner


def ray_scheduler(scheduler: TrialScheduler) -> TrialScheduler:
    """Ray's own scheduler inside caviar's wrappers."""
    *_, innermost = chain(scheduler)
    return innermost
