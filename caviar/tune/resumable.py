"""Every scheduler's decision state saved with each Tune snapshot and restored on resume.

Ray Tune snapshots its searcher and callbacks but not its scheduler, and Ray's schedulers key their
state by ``Trial`` objects, which a resume recreates. ``ResumableScheduler`` wraps Ray's scheduler;
``state()`` pickles the scheduler's attributes with every Trial replaced by its trial_id (pickle's
``persistent_id``), and ``load()`` keeps that until Tune has re-added the restored trials, then
unpickles it with each trial_id bound to the new Trial object. So ASHA's rungs, HyperBand's brackets
and their members, the median rule's per-trial histories and PBT's trial states, perturbation count
and explore RNG continue where the snapshot left them.

Two more things make a resumed sweep decide as an uninterrupted one would:

* Restored trials that the saved state already knows are not added to the scheduler again. Adding
  them is what makes Ray's HyperBand spin forever after a resume (ray-project/ray#30838): finished
  trials land in fresh brackets as members that never report, so the bracket never completes.
  Finished trials the state does not know are not added either: there is nothing to schedule.
* A trial that restarts from an earlier iteration (from scratch with no checkpoint, or from an
  older checkpoint) reports iterations the scheduler saw before; the median rule's history of that
  trial is cut back to before them, so they are not counted twice.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from ray import cloudpickle
from ray.tune.experiment import Trial
from ray.tune.schedulers import MedianStoppingRule, TrialScheduler

TIME_ATTR = "training_iteration"


class _GoneTrial:
    """Stands in for a trial the saved state names but the restored experiment does not have."""

    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id
        self.status = Trial.TERMINATED
        self.config: dict[str, Any] = {}
        self.last_result: dict[str, Any] = {}


class _Pickler(cloudpickle.CloudPickler):  # type: ignore[misc]
    """cloudpickle (Ray's median rule holds lambdas) with every Trial written as its trial_id."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file)  # type: ignore[no-untyped-call]
        self.trial_ids: set[str] = set()

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, Trial | _GoneTrial):
            self.trial_ids.add(obj.trial_id)
            return ("trial", obj.trial_id)
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, trials: dict[str, Any]) -> None:
        super().__init__(io.BytesIO(data))
        self.trials = trials

    def persistent_load(self, pid: Any) -> Any:
        kind, trial_id = pid
        if kind != "trial":
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        trial = self.trials.get(trial_id)
        if trial is None:
            trial = self.trials[trial_id] = _GoneTrial(trial_id)
        return trial


def dump_state(scheduler: TrialScheduler) -> dict[str, Any]:
    """The scheduler's attributes as bytes, Trials as trial_ids, and the ids it holds."""
    buffer = io.BytesIO()
    pickler = _Pickler(buffer)
    pickler.dump(dict(scheduler.__dict__))  # type: ignore[no-untyped-call]
    return {"attributes": buffer.getvalue(), "trial_ids": sorted(pickler.trial_ids)}


class ResumableScheduler(TrialScheduler):  # type: ignore[misc]
    """Ray's scheduler, its state saved by trial_id and restored after a resume."""

    def __init__(self, scheduler: TrialScheduler) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.scheduler = scheduler
        self._pending: dict[str, Any] | None = None
        self._restored: dict[str, Any] = {}

    # Saving and restoring (called by SchedulerStateCallback with Tune's snapshot)

    def state(self) -> dict[str, Any]:
        self._materialize()
        return dump_state(self.scheduler)

    def load(self, state: dict[str, Any]) -> None:
        """Keep ``state`` until Tune has re-added the restored trials (see the module docstring)."""
        self._pending = state
        self._restored = {}

    def _materialize(self) -> None:
        if self._pending is None:
            return
        pending, self._pending = self._pending, None
        attributes = _Unpickler(pending["attributes"], self._restored).load()
        self.scheduler.__dict__.update(attributes)

    # Tune's scheduler interface, forwarded

    @property
    def metric(self) -> Any:
        return self.scheduler.metric

    @property
    def supports_buffered_results(self) -> bool:
        return bool(self.scheduler.supports_buffered_results)

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        return bool(self.scheduler.set_search_properties(metric, mode, **spec))

    def on_trial_add(self, tune_controller: Any, trial: Trial) -> None:
        if self._pending is not None:
            if trial.trial_id in self._pending["trial_ids"]:
                self._restored[trial.trial_id] = trial  # its place is in the saved state
                return
            if trial.status in (Trial.TERMINATED, Trial.ERROR):
                return  # restored and finished, unknown to the state: nothing to schedule
        self._materialize()
        self.scheduler.on_trial_add(tune_controller, trial)

    def on_trial_error(self, tune_controller: Any, trial: Trial) -> None:
        self._materialize()
        self.scheduler.on_trial_error(tune_controller, trial)

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> str:
        self._materialize()
        _forget_from(self.scheduler, trial, result)
        return self.scheduler.on_trial_result(tune_controller, trial, result)  # type: ignore[no-any-return]

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> None:
        self._materialize()
        self.scheduler.on_trial_complete(tune_controller, trial, result)

    def on_trial_remove(self, tune_controller: Any, trial: Trial) -> None:
        self._materialize()
        self.scheduler.on_trial_remove(tune_controller, trial)

    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        self._materialize()
        return self.scheduler.choose_trial_to_run(tune_controller)  # type: ignore[no-any-return]

    def debug_string(self) -> str:
        return str(self.scheduler.debug_string())


def _forget_from(scheduler: TrialScheduler, trial: Trial, result: dict[str, Any]) -> None:
    """A trial reporting an iteration its history already holds restarted: cut the history back."""
    if not isinstance(scheduler, MedianStoppingRule):
        return
    time = result.get(TIME_ATTR)
    history = scheduler._results.get(trial)
    if time is None or not history:
        return
    kept = [r for r in history if r.get(TIME_ATTR, 0) < time]
    if len(kept) < len(history):
        scheduler._results[trial] = kept
