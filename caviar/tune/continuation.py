"""``caviar continue`` run: the chosen trials marked unfinished, the sweep resumed, and the
scheduler told to let them train to the end (the checks: ``caviar.search.continuation``)."""

from __future__ import annotations

from ray.tune.experiment import Trial
from ray.tune.schedulers import TrialScheduler

from caviar.search.continuation import Continuation
from caviar.spec.history import write_recorded
from caviar.tune.run import SweepOutcome, resume_sweep
from caviar.tune.wrappers import SchedulerWrapper


def continue_trials(continuation: Continuation, show_progress: bool = True) -> SweepOutcome:
    """Mark the chosen trials unfinished, record it, resume the sweep (Ray must be connected)."""
    from caviar.results.lock import sweep_lock

    store = continuation.store
    with sweep_lock(store, "continue"):  # re-entrant: resume_sweep takes it again
        relative = continuation.snapshot[len(store.root) + 1 :]
        store.write_text(relative, continuation.snapshot_text)
        write_recorded(store, continuation.raw)
        return resume_sweep(continuation.sweep_uri, show_progress)


class Continued(SchedulerWrapper):
    """The sweep's scheduler for its other trials; continued trials just train on to the end."""

    note = "continued trials train to the end"
    lets_trials_pass = True

    def __init__(self, inner: TrialScheduler, trial_ids: set[str]) -> None:
        super().__init__(inner)
        self.trial_ids = set(trial_ids)

    def passes(self, trial: Trial) -> bool:
        return trial.trial_id in self.trial_ids
