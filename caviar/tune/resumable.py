"""A sweep that resumes as it would have run: the scheduler's state and the search's progress.

The scheduler: Ray Tune snapshots its searcher and callbacks but not its scheduler, and Ray's schedulers key their
state by ``Trial`` objects, which a resume recreates. ``ResumableScheduler`` wraps Ray's scheduler;
``state()`` pickles the scheduler's attributes with every Trial replaced by its trial_id (pickle's
``persistent_id``), and ``load()`` keeps that until Tune has re-added the restored trials, then
unpickles it with each trial_id bound to the new Trial object. So ASHA's rungs, HyperBand's brackets
and their members, the median rule's per-trial histories and PBT's trial states, perturbation count
and explore RNG continue where the snapshot left them. A checkpoint PBT had asked a top trial to
save, still in flight when the state was saved, was a future of the driver that died; the resumed
PBT takes that trial's last checkpoint instead (else its exploits of that trial would fail on the
dead future and be skipped).

Three more things make a resumed sweep decide as an uninterrupted one would:

* Restored trials that the saved state already knows are not added to the scheduler again. Adding
  them is what makes Ray's HyperBand spin forever after a resume (ray-project/ray#30838): finished
  trials land in fresh brackets as members that never report, so the bracket never completes.
  Finished trials the state does not know are not added either: there is nothing to schedule.
* HyperBand's brackets are brought in step with the restored trial list (Tune's snapshot files
  can be torn by a kill -9): a trial the list still has to run that its bracket had let go is
  stopped, as the bracket decided; a finished one leaves its bracket
  (``compat.reconcile_hyperband``).
* A trial that restarts from an earlier iteration (from scratch with no checkpoint, or from an
  older checkpoint) reports iterations the scheduler saw before; the median rule's history of that
  trial is cut back to before them, so they are not counted twice.

The search (``ResumableSearch``): Tune's search generator, whose progress after a resume is the
restored trial list's length, and which grows to a larger plan (``caviar extend``, trials added
from the dashboard).
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from ray import cloudpickle
from ray.tune.experiment import Trial
from ray.tune.schedulers import (
    HyperBandScheduler,
    MedianStoppingRule,
    PopulationBasedTraining,
    TrialScheduler,
)
from ray.tune.search import SearchGenerator

from caviar.search.plan import SearchPlan
from caviar.tune import compat
from caviar.tune.wrappers import SchedulerWrapper

TIME_ATTR = "training_iteration"


class _GoneTrial:
    """Stands in for a trial the saved state names but the restored experiment does not have."""

    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id
        self.status = Trial.TERMINATED
        self.config: dict[str, Any] = {}
        self.last_result: dict[str, Any] = {}


class _PendingSave:
    """Stands in for a PBT save in flight when the state was saved (``ResumableScheduler.ready``
    puts the trial's last checkpoint in its place)."""


class _Pickler(cloudpickle.CloudPickler):  # type: ignore[misc]
    """cloudpickle (Ray's median rule holds lambdas) with every Trial written as its trial_id and
    every save in flight (a future of this driver's) as a stand-in."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file)  # type: ignore[no-untyped-call]
        self.trial_ids: set[str] = set()

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, Trial | _GoneTrial):
            self.trial_ids.add(obj.trial_id)
            return ("trial", obj.trial_id)
        if compat.is_pending_save(obj):
            return ("pending-save", "")
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, trials: dict[str, Any]) -> None:
        super().__init__(io.BytesIO(data))
        self.trials = trials

    def persistent_load(self, pid: Any) -> Any:
        kind, trial_id = pid
        if kind == "pending-save":
            return _PendingSave()
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


def saved_attributes(state: dict[str, Any]) -> dict[str, Any]:
    """The scheduler attributes in ``dump_state``'s ``state``, each trial a stand-in with its id
    (to look at a sweep's saved scheduler state, e.g. PBT's perturbations, without Tune)."""
    return dict(_Unpickler(state["attributes"], {}).load())


class ResumableScheduler(SchedulerWrapper):
    """Ray's scheduler, its state saved by trial_id and restored after a resume."""

    def __init__(self, inner: TrialScheduler) -> None:
        super().__init__(inner)
        self._pending: dict[str, Any] | None = None
        self._restored: dict[str, Any] = {}
        self._controller: Any = None  # Tune's, from the first call that brings it

    # Saving and restoring (called by SchedulerStateCallback with Tune's snapshot)

    def state(self) -> dict[str, Any]:
        self.ready()
        return dump_state(self.inner)

    def load(self, state: dict[str, Any]) -> None:
        """Keep ``state`` until Tune has re-added the restored trials (see the module docstring)."""
        self._pending = state
        self._restored = {}

    def ready(self) -> None:
        """Apply the loaded state (once Tune re-added the trials it names: any later call)."""
        if self._pending is None:
            return
        pending, self._pending = self._pending, None
        attributes = _Unpickler(pending["attributes"], self._restored).load()
        self.inner.__dict__.update(attributes)
        if isinstance(self.inner, PopulationBasedTraining):
            _settle_pending_saves(self.inner)
        if isinstance(self.inner, HyperBandScheduler):
            compat.reconcile_hyperband(self.inner, self._controller)

    def on_trial_add(self, tune_controller: Any, trial: Trial) -> None:
        self._controller = tune_controller
        if self._pending is not None:
            if trial.trial_id in self._pending["trial_ids"]:
                self._restored[trial.trial_id] = trial  # its place is in the saved state
                return
            if trial.status in (Trial.TERMINATED, Trial.ERROR):
                return  # restored and finished, unknown to the state: nothing to schedule
        super().on_trial_add(tune_controller, trial)

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> str:
        self.ready()
        _forget_from(self.inner, trial, result)
        return super().on_trial_result(tune_controller, trial, result)


def _settle_pending_saves(scheduler: PopulationBasedTraining) -> None:
    """A save PBT asked for and lost with the driver: the trial's last checkpoint instead."""
    for trial, state in compat.pbt_trial_states(scheduler).items():
        if isinstance(state.last_checkpoint, _PendingSave):
            state.last_checkpoint = getattr(trial, "checkpoint", None)


def _forget_from(scheduler: TrialScheduler, trial: Trial, result: dict[str, Any]) -> None:
    """A trial reporting an iteration its history already holds restarted: cut the history back."""
    if not isinstance(scheduler, MedianStoppingRule):
        return
    time = result.get(TIME_ATTR)
    histories = compat.median_history(scheduler)
    history = histories.get(trial)
    if time is None or not history:
        return
    kept = [r for r in history if r.get(TIME_ATTR, 0) < time]
    if len(kept) < len(history):
        histories[trial] = kept


def find_resumable(scheduler: TrialScheduler) -> ResumableScheduler | None:
    """The ResumableScheduler inside caviar's wrappers (None for fifo)."""
    from caviar.tune.wrappers import chain

    return next((s for s in chain(scheduler) if isinstance(s, ResumableScheduler)), None)


class ResumableSearch(SearchGenerator):  # type: ignore[misc]
    """Ray Tune's SearchGenerator, whose progress on resume is the restored trial list's length.

    Tune's snapshot is several files (the trial list, the generator's state, the searcher's state)
    that a background thread uploads one by one, each from whichever save last rewrote it; a kill -9
    can leave them from different moments. Restored as saved, a searcher state ahead of the trial
    list ends the sweep with trials missing (seen: 1 of 6), one behind it runs configs twice. The
    trial list is the truth: trial ``i`` was created with config ``i``, so the generator and a
    SpaceSearcher continue at ``len(trials)``.
    """

    # ``caviar extend`` raises the sweep's budget: set before Tune restores the search, applied
    # after (``grow``), since the restored state carries the old totals.
    plan: SearchPlan | None = None
    # Trials that ``caviar continue`` trains past their planned epochs: the searcher has their
    # results already (TPE told them), so their new ones are not passed on.
    frozen: frozenset[str] = frozenset()

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        if trial_id not in self.frozen:
            super().on_trial_result(trial_id, result)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        if trial_id not in self.frozen:
            super().on_trial_complete(trial_id, result=result, error=error)

    def has_checkpoint(self, dirpath: str) -> bool:
        from caviar.tune.reconcile import restored_trials

        return bool(super().has_checkpoint(dirpath)) or restored_trials(dirpath) is not None

    def restore_from_dir(self, dirpath: str) -> None:
        if not super().has_checkpoint(dirpath):
            # A trial list without the generator's state (its upload had not finished): Tune
            # cannot continue it, so it starts the sweep afresh (it catches this error).
            raise RuntimeError(f"no search state next to the experiment state in {dirpath}")
        super().restore_from_dir(dirpath)
        from caviar.tune.reconcile import reconcile, restored_trials

        trials = restored_trials(dirpath)
        if trials is None:
            return
        compat.set_generator_progress(self, created=len(trials))
        reconcile(self.searcher, trials)  # per-trial state (TPE, confirm:) and the next config
        if self.plan is not None:
            self.grow(self.plan)

    def grow(self, plan: SearchPlan) -> bool:
        """Raise the trials this search makes to ``plan.total`` (never lowers them).

        Used both before a resumed run (``caviar extend``: the plan from the recorded spec) and
        while one runs (trials added from the dashboard). Random and grid continue their seeded
        stream (trial ``i`` is ``config_at(i)`` as in a sweep planned that large), coarse-to-fine
        takes the plan's rounds (or its last round grows), TPE's study goes on learning from every
        result it was told. False where the search cannot grow (``confirm:`` re-trains the
        winners of a fixed search; fused bundles were planned up front).
        """
        from caviar.tune.reconcile import unwrap
        from caviar.tune.searchers import ConfirmingSearcher

        base = unwrap(self.searcher)
        if isinstance(base, ConfirmingSearcher) or not getattr(base, "can_grow", True):
            return False
        if hasattr(base, "grow"):
            base.grow(plan)
        _, total = compat.generator_progress(self)
        compat.set_generator_progress(self, total=max(total, plan.total))
        return True
