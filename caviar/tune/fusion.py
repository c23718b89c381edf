"""``fuse: K`` under Ray Tune: the planning searcher, the bundle-aware ASHA, the trainable.

The plan (which configs go into which bundle) is ``caviar.search.fusion``'s. The sweep's ASHA rule
cuts members inside their bundle, so Tune's own ASHA leaves bundle trials alone
(``BundleAwareASHA``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import AsyncHyperBandScheduler, TrialScheduler

from caviar.search.fusion import (
    AUTO,
    auto_fuse,
    fallback_summary,
    fuses,
    plan_trials,
    stop_rule,
    unfused_note,
)
from caviar.search.plan import planned_count
from caviar.search.streams import total_trials
from caviar.spec.model import SchedulerSpec, SweepSpec
from caviar.trainables.bundle import MEMBERS_KEY, STOP_KEY
from caviar.trainables.data import DataSpec, load_dataset
from caviar.trainables.estimator import is_estimator_path
from caviar.tune import compat
from caviar.tune.resumable import ResumableScheduler
from caviar.tune.schedulers import TIME_ATTR, build_scheduler
from caviar.tune.searchers import SpaceSearcher
from caviar.tune.trainable import as_tune_trainable, estimator_tune_trainable

log = logging.getLogger(__name__)

__all__ = [
    "AUTO",
    "BundleAwareASHA",
    "FusedSearcher",
    "auto_fuse",
    "fallback_summary",
    "fused_scheduler",
    "fused_searcher",
    "fusing",
    "plan_trials",
    "tune_function",
]


class FusedSearcher(SpaceSearcher):
    """Suggests the planned Tune trials: bundles ``{MEMBERS_KEY: [...], STOP_KEY: rule}`` or configs."""

    can_grow = False  # the bundles were planned up front from the sweep's configs

    def __init__(self, spec: SweepSpec, total: int, stop_rule: Mapping[str, Any]) -> None:
        super().__init__(
            spec.space,
            seed=spec.seed,
            total=total,
            grid=spec.search.algorithm == "grid",
            repeats=planned_count(spec),
        )
        assert spec.data is not None and spec.fuse is not None
        configs = [self.config_at(i) for i in range(total)]
        plan, self.notes = plan_trials(
            configs, load_dataset(spec.data), spec.fuse, gpu=spec.resources.gpu > 0
        )
        self.plan = [
            {**trial, STOP_KEY: dict(stop_rule)} if MEMBERS_KEY in trial else trial
            for trial in plan
        ]
        self.total: int = len(self.plan)

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self.count >= self.total:
            return SpaceSearcher.FINISHED  # type: ignore[no-any-return, return-value]
        trial = self.plan[self.count]
        self.count += 1
        return trial


class BundleAwareASHA(AsyncHyperBandScheduler):  # type: ignore[misc]
    """Ray Tune's ASHA for single trials; bundles apply the same rule to their members themselves."""

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> str:
        if MEMBERS_KEY in trial.config:
            return TrialScheduler.CONTINUE  # type: ignore[no-any-return]
        return super().on_trial_result(tune_controller, trial, result)  # type: ignore[no-any-return]

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> None:
        if MEMBERS_KEY in trial.config:
            compat.asha_forget(self, trial.trial_id)
            return
        super().on_trial_complete(tune_controller, trial, result)


def fused_scheduler(scheduler: SchedulerSpec) -> TrialScheduler:
    """The scheduler of a fused sweep: ASHA that leaves bundles to cut their own members."""
    if scheduler.name == "asha":
        return ResumableScheduler(BundleAwareASHA(time_attr=TIME_ATTR, **scheduler.options))
    return build_scheduler(scheduler)


def fused_searcher(spec: SweepSpec) -> FusedSearcher:
    """The planning searcher; logs one line on the configs that fall back to unfused trials."""
    total = total_trials(spec.space, spec.search.algorithm, planned_count(spec))
    assert total is not None  # fused bundles are planned up front (spec.rules.until_time_budget)
    searcher = FusedSearcher(spec, total, stop_rule(spec))
    if searcher.notes:
        log.warning("fuse: %s", fallback_summary(searcher.notes, total))
    return searcher


def fusing(spec: SweepSpec) -> bool:
    """Whether this sweep fuses; logs why not when ``fuse:`` is set for a trainable that cannot."""
    note = unfused_note(spec)
    if note is not None:
        log.warning("fuse: %s", note)
    return fuses(spec)


def tune_function(
    trainable: str,
    data: DataSpec | None,
    cpu: float,
    scoring: Sequence[str] = (),
    fused: bool = False,
) -> Callable[[dict[str, Any]], None]:
    """The Tune function trainable: bundles train fused (``fused``), anything else as the adapter
    runs it; a scikit-learn estimator is scored with ``scoring``."""
    if is_estimator_path(trainable):
        return estimator_tune_trainable(trainable, data, tuple(scoring), cpu)
    single = as_tune_trainable(trainable, data, cpu)
    if not fused:
        return single
    bundle = as_tune_trainable("caviar.trainables.bundle:train_bundle", data, cpu)

    def run_trial(config: dict[str, Any]) -> None:
        (bundle if MEMBERS_KEY in config else single)(config)

    run_trial.__name__ = "mlp"
    return run_trial
