"""Steering a running sweep: the driver acts on the requests stored with the sweep.

The requests (``caviar.results.control``) come from the dashboard or the command line, possibly
from another machine, through the sweep's storage. ``SteeringScheduler`` wraps the sweep's
scheduler, since Tune asks the scheduler ``choose_trial_to_run`` at every step of its loop with
the controller's ``stop_trial`` and ``search_alg`` at hand (as ``TrialTimeLimit`` does). Every
``poll_s`` seconds it reads the requests and:

- stops each live trial that a ``stop_trial`` names: on its next result by the scheduler
  decision STOP, or, if it is pending or reports nothing for ``STOP_GRACE_S``, through Tune's
  ``stop_trial``. It ends TERMINATED for Tune (not resumed) and ``STOPPED`` in trials.parquet,
  with every row Tune received (a report still in flight when the actor stops is lost);
- grows the search to the planned trials plus every ``add_trials`` request
  (``ResumableSearch.grow``), so the searcher continues its stream;
- on a ``stop_sweep`` not yet applied, stops the search where it is and every live trial.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import TrialScheduler

from caviar.results.control import (
    added_trials,
    applied_ids,
    mark_applied,
    read_requests,
    stopped_trials,
)
from caviar.results.store import SweepStore
from caviar.search.plan import SearchPlan
from caviar.tune import compat
from caviar.tune.callbacks_results import USER_STOPPED
from caviar.tune.wrappers import SchedulerWrapper

logger = logging.getLogger(__name__)

POLL_S = 1.0
STOP_GRACE_S = 5.0


class SteeringScheduler(SchedulerWrapper):
    """The sweep's scheduler, plus the steering requests stored with the sweep."""

    def __init__(
        self, inner: TrialScheduler, sweep_uri: str, planned: int, poll_s: float = POLL_S
    ) -> None:
        super().__init__(inner)
        self.sweep_uri = sweep_uri
        self.planned = planned
        self.poll_s = poll_s
        self._stop: set[str] = set()
        self._last_poll = 0.0
        self._grown = 0
        self._stopped = False
        self._seen: dict[str, float] = {}
        self._store: SweepStore | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_store=None, _last_poll=0.0, _stop=set(), _grown=0, _stopped=False, _seen={})
        return state

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> str:
        decision = self.inner.on_trial_result(tune_controller, trial, result)
        if trial.trial_id in self._stop:
            compat.set_trial_note(trial, USER_STOPPED, True)
            return TrialScheduler.STOP  # type: ignore[no-any-return]
        return decision  # type: ignore[no-any-return]

    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        """Called at every step of Tune's loop: act on new requests, then ask the scheduler."""
        now = time.monotonic()
        if now - self._last_poll >= self.poll_s:
            self._last_poll = now
            try:
                self.poll(tune_controller)
            except OSError as error:  # storage unreachable for a moment: try again next poll
                logger.warning("steering: cannot read the requests: %s", error)
        return self.inner.choose_trial_to_run(tune_controller)  # type: ignore[no-any-return]

    def poll(self, tune_controller: Any) -> None:
        """Read the requests and act on them."""
        if self._store is None:
            self._store = SweepStore.at(self.sweep_uri)
        store = self._store
        requests = read_requests(store)
        if not requests:
            return
        self._stop |= stopped_trials(requests)
        sweep_stops = [r for r in requests if r.action == "stop_sweep"]
        pending = [r for r in sweep_stops if r.id not in applied_ids(store)] if sweep_stops else []
        search = tune_controller.search_alg
        if pending or self._stopped:
            search.set_finished()  # no new trial from here on
            self._stop |= {t.trial_id for t in tune_controller.get_live_trials()}
            if pending:
                logger.info("steering: stopping the sweep (%d requests)", len(pending))
            self._stopped = True
        else:
            extra = added_trials(requests)
            if extra > self._grown:
                grow = getattr(search, "grow", None)
                if grow is not None and grow(SearchPlan(self.planned + extra)):
                    logger.info("steering: the sweep grows to %d trials", self.planned + extra)
                else:
                    logger.warning("steering: this sweep's search cannot add trials; ignored")
                self._grown = extra
        now = time.monotonic()
        for trial in list(tune_controller.get_live_trials()):
            if trial.trial_id not in self._stop or trial.status == Trial.TERMINATED:
                continue
            # A reporting trial stops on its next result (every row Tune got is kept); one that
            # is pending, paused or silent is stopped here after a grace period.
            seen = self._seen.setdefault(trial.trial_id, now)
            if trial.status != Trial.RUNNING or now - seen > STOP_GRACE_S:
                compat.set_trial_note(trial, USER_STOPPED, True)
                tune_controller.stop_trial(trial)
        for request in pending:
            with contextlib.suppress(OSError):
                mark_applied(store, request)


def with_steering(scheduler: TrialScheduler, sweep_uri: str, planned: int) -> TrialScheduler:
    """The sweep's scheduler, wrapped so that the sweep can be steered while it runs."""
    return SteeringScheduler(scheduler, sweep_uri, planned)


def sweep_stopped(sweep_uri: str) -> bool:
    """Whether a person stopped this sweep (a stop_sweep request that a driver acted on)."""
    try:
        store = SweepStore.at(sweep_uri)
        stops = {r.id for r in read_requests(store) if r.action == "stop_sweep"}
        return bool(stops & applied_ids(store))
    except OSError:
        return False
