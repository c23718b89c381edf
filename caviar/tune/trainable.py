"""The Ray Tune function trainables: a trial's config and a fresh ``TrialContext`` handed to the
function (or scikit-learn estimator) a spec names, with the trial's share of the CPU threads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from caviar.trainables.adapter import resolve, trainable_config
from caviar.trainables.data import DataSpec
from caviar.trainables.estimator import PREFIX, EstimatorTrainable
from caviar.tune.context import TrialContext, worker_threads


def as_tune_trainable(
    name: str, data: DataSpec | None, cpus_per_trial: float
) -> Callable[[dict[str, Any]], None]:
    """A Ray Tune function trainable that runs the named function with a fresh ``TrialContext``.

    The function is looked up by name inside the worker, so user code is imported where it runs.
    """

    def run_trial(config: dict[str, Any]) -> None:
        import torch

        torch.set_num_threads(worker_threads(cpus_per_trial))
        ctx = TrialContext(data)
        resolve(name)(trainable_config(config), ctx)

    run_trial.__name__ = name.replace(".", "_").replace(":", "__")
    return run_trial


def estimator_tune_trainable(
    name: str, data: DataSpec | None, scoring: Sequence[str], cpus_per_trial: float
) -> Callable[[dict[str, Any]], None]:
    """The Ray Tune function trainable of an estimator sweep (as ``as_tune_trainable``)."""
    trainable = EstimatorTrainable(name, scoring)

    def run_trial(config: dict[str, Any]) -> None:
        from threadpoolctl import threadpool_limits

        ctx = TrialContext(data)
        with threadpool_limits(worker_threads(cpus_per_trial)):  # BLAS/OpenMP: the trial's CPUs
            trainable(trainable_config(config), ctx)

    run_trial.__name__ = name.removeprefix(PREFIX).replace(".", "_")
    return run_trial
