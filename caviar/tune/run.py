"""Running a sweep: spec -> Ray Tune Tuner (``caviar.tune.build``) -> fit -> Parquet results.

Before Ray runs anything the sweep is checked (``prepare``: storage writable, no other sweep of
that name; ``check_cluster``: a trial fits on some node), and Tune's environment settings hold only
for the one ``Tuner.fit()`` (``caviar.tune.environment``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from caviar.errors import sweep_failure
from caviar.results.lock import sweep_lock
from caviar.results.store import SPEC_FILE, TUNE_DIR, SweepStore, open_sweep
from caviar.search.plan import planned_trials
from caviar.search.snapshot import has_tune_state, tune_statuses
from caviar.spec.model import SweepSpec
from caviar.spec.parse import parse_spec
from caviar.tune.build import build_tuner, trainable
from caviar.tune.checks import prepare, refuse_existing
from caviar.tune.environment import tune_environment
from caviar.tune.resolved import spec_yaml
from caviar.tune.resume_guards import check_resumable
from caviar.tune.steering import sweep_stopped

log = logging.getLogger(__name__)

__all__ = [
    "SweepOutcome",
    "check_cluster",
    "has_tune_state",
    "planned_trials",
    "prepare",
    "resume_sweep",
    "run_sweep",
    "tune_statuses",
]


@dataclass(frozen=True)
class SweepOutcome:
    """How a sweep ended."""

    sweep_uri: str
    trials: int
    errors: int
    interrupted: bool


def run_sweep(spec: SweepSpec, show_progress: bool = True, warm: Any = None) -> SweepOutcome:
    """Run the sweep on the Ray that is connected (``ray.init`` was called).

    ``warm``: a ``warm_start.WarmStart``, the old sweep the searcher starts from.
    """
    store = prepare(spec)
    with sweep_lock(store, "run"):  # one driver per sweep (see caviar.results.lock)
        if store.exists(SPEC_FILE):  # another run wrote it between the check and the lock
            refuse_existing(store, spec)
        pending = check_cluster(spec)
        store.write_text(SPEC_FILE, spec_yaml(spec))
        tuner = build_tuner(spec, store, show_progress, warm)
        return _fit(tuner, spec, pending)


def resume_sweep(
    sweep_uri: str,
    show_progress: bool = True,
    time_budget_s: float | None = None,
    adjust: Any = None,
) -> SweepOutcome:
    """Continue an interrupted sweep from its directory: nothing that finished runs again.

    An extended sweep (``caviar extend``) continues with the raised budget of its recorded spec;
    ``time_budget_s`` replaces the time budget for this run; ``adjust(tuner)``, if given, changes
    the restored Tuner before it runs (``caviar continue``).
    """
    store = open_sweep(sweep_uri)
    with sweep_lock(store, "resume"):  # one driver per sweep (see caviar.results.lock)
        return _resume_locked(store, sweep_uri, show_progress, time_budget_s, adjust)


def _resume_locked(
    store: SweepStore,
    sweep_uri: str,
    show_progress: bool,
    time_budget_s: float | None,
    adjust: Any,
) -> SweepOutcome:
    import yaml
    from ray import tune

    spec = parse_spec(yaml.safe_load(store.read_text(SPEC_FILE)))
    check_resumable(store, sweep_uri)
    pending = check_cluster(spec)
    if not has_tune_state(store):
        # Killed before Tune saved its first snapshot: no trial can have finished in Tune's view,
        # so the same sweep starts again (the Parquet callback drops rows of the lost trials).
        tuner = build_tuner(spec, store, show_progress)
    else:
        tuner = tune.Tuner.restore(
            store.path(TUNE_DIR),
            trainable(spec),
            resume_unfinished=True,
            resume_errored=False,
            storage_filesystem=store.filesystem,
        )
        _grow_restored(tuner, spec, time_budget_s)
        if adjust is not None:
            adjust(tuner)
    return _fit(tuner, spec, pending)


def _grow_restored(tuner: Any, spec: SweepSpec, time_budget_s: float | None) -> None:
    """Hand an extended sweep's plan to the restored search; set this run's time budget; let
    continued trials (``caviar continue``) train past the scheduler's ``max_t``."""
    from caviar.search.continuation import continued_trials
    from caviar.search.plan import search_plan
    from caviar.tune.compat import restored_tune_config
    from caviar.tune.continuation import Continued
    from caviar.tune.resumable import ResumableSearch

    plan = search_plan(spec)
    continued = continued_trials(dict(spec.raw))
    if plan is None and time_budget_s is None and not continued:
        return
    config = restored_tune_config(tuner)
    if plan is not None and isinstance(config.search_alg, ResumableSearch):
        config.search_alg.plan = plan
    if time_budget_s is not None:
        config.time_budget_s = time_budget_s
    if continued:  # trained past their plan: the scheduler and the searcher let them be
        config.scheduler = Continued(config.scheduler, continued)
        if isinstance(config.search_alg, ResumableSearch):
            config.search_alg.frozen = frozenset(continued)


def check_cluster(spec: SweepSpec) -> int:
    """Before any trial: a trial must fit on some node (else SpecError); warn about node-local
    storage. Returns how many trials may be pending at once (as many as the cluster holds)."""
    from caviar.tune.resources import alive_nodes, check_resources, storage_warnings, trial_slots

    nodes = alive_nodes()
    check_resources(spec.resources.cpu, spec.resources.gpu, nodes)
    for warning in storage_warnings(spec.storage, nodes):
        log.warning("%s", warning)
    slots = trial_slots(spec.resources.cpu, spec.resources.gpu, nodes)
    if spec.max_concurrent is not None:
        slots = min(slots, spec.max_concurrent)
    return max(1, slots)


def _fit(tuner: Any, spec: SweepSpec, pending: int) -> SweepOutcome:
    """Run the Tuner with Tune's environment settings (restored after), and say how it ended."""
    try:
        with tune_environment(pending):
            results = tuner.fit()
    except Exception as error:
        failure = sweep_failure(error)  # Tune wraps a callback's error in its own
        if failure is None:
            raise
        raise failure from None
    from caviar.results.readers import read_trials
    from caviar.tune.test_scores import score_selected

    score_selected(spec, results)  # the held-out test set, once, for the selected trials

    trials = read_trials(spec.sweep_uri)
    statuses = trials["status"].value_counts().to_dict() if len(trials) else {}
    ended = ("TERMINATED", "ERROR", "STOPPED")
    unfinished = sum(n for s, n in statuses.items() if s not in ended)
    # Interrupted between trials, none is left running: then fewer trials than the sweep has ran
    # (unless a person stopped the sweep: `caviar stop`, the dashboard). A sweep with a time
    # budget (with no trial count: planned None) may end with fewer.
    planned = planned_trials(spec)
    missing = (
        spec.time_budget_s is None
        and planned is not None
        and len(trials) < planned
        and not sweep_stopped(spec.sweep_uri)
    )
    return SweepOutcome(
        spec.sweep_uri, len(trials), statuses.get("ERROR", 0), unfinished > 0 or missing
    )
