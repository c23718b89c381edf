"""The spec's ``scheduler:`` as one of Ray Tune's own early-stopping schedulers."""

from __future__ import annotations

from ray.tune.schedulers import (
    AsyncHyperBandScheduler,
    FIFOScheduler,
    HyperBandScheduler,
    MedianStoppingRule,
    TrialScheduler,
)

from caviar.orchestrator.spec import SchedulerSpec

TIME_ATTR = "training_iteration"


def build_scheduler(spec: SchedulerSpec) -> TrialScheduler:
    """Ray Tune's scheduler for ``spec``, cutting by reported iterations (epochs).

    Metric and mode come from the TuneConfig, which hands them to the scheduler.
    """
    options = dict(spec.options)
    if spec.name == "asha":
        return AsyncHyperBandScheduler(time_attr=TIME_ATTR, **options)
    if spec.name == "hyperband":
        return HyperBandScheduler(time_attr=TIME_ATTR, **options)
    if spec.name == "median":
        return MedianStoppingRule(time_attr=TIME_ATTR, **options)
    return FIFOScheduler()  # type: ignore[no-untyped-call]
