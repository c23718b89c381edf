"""The Ray Tune function trainables: a trial's config and a fresh ``TrialContext`` handed to the
function (or scikit-learn estimator) a spec names, with the trial's share of the CPU threads.

``dataset``: the sweep's data as the driver loaded it, handed over by ``tune.with_parameters``
(one copy in Ray's object store for every trial), so that no worker loads or builds it again."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from caviar.trainables.adapter import resolve, trainable_config
from caviar.trainables.data import Dataset, DataSpec
from caviar.trainables.estimator import PREFIX, EstimatorTrainable
from caviar.tune.context import TrialContext, worker_threads

TuneFunction = Callable[..., None]  # (config, dataset=None)


def driver_path_last(directory: str) -> None:
    """Let the worker import the user's modules from the driver's directory, after everything
    else on its path. A cluster's workers get it from Ray's setup hook
    (``caviar.cluster.worker_path``); an embedded Ray's workers start without a runtime_env, so
    that Ray's prestarted workers can run the trials, and get it here, before the lookup."""
    if directory not in sys.path:
        sys.path.append(directory)


def as_tune_trainable(name: str, data: DataSpec | None, cpus_per_trial: float) -> TuneFunction:
    """A Ray Tune function trainable that runs the named function with a fresh ``TrialContext``.

    The function is looked up by name inside the worker, so user code is imported where it runs.
    """
    driver_dir = os.getcwd()

    def run_trial(config: dict[str, Any], dataset: Dataset | None = None) -> None:
        import torch

        driver_path_last(driver_dir)
        torch.set_num_threads(worker_threads(cpus_per_trial))
        ctx = TrialContext(data, dataset)
        resolve(name)(trainable_config(config), ctx)

    run_trial.__name__ = name.replace(".", "_").replace(":", "__")
    return run_trial


def estimator_tune_trainable(
    name: str, data: DataSpec | None, scoring: Sequence[str], cpus_per_trial: float
) -> TuneFunction:
    """The Ray Tune function trainable of an estimator sweep (as ``as_tune_trainable``)."""
    trainable = EstimatorTrainable(name, scoring)
    driver_dir = os.getcwd()

    def run_trial(config: dict[str, Any], dataset: Dataset | None = None) -> None:
        from threadpoolctl import threadpool_limits

        driver_path_last(driver_dir)
        ctx = TrialContext(data, dataset)
        with threadpool_limits(worker_threads(cpus_per_trial)):  # BLAS/OpenMP: the trial's CPUs
            trainable(trainable_config(config), ctx)

    run_trial.__name__ = name.removeprefix(PREFIX).replace(".", "_")
    return run_trial
