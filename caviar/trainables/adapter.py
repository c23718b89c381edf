"""Turning ``function(config, ctx)`` into a Ray Tune function trainable, and finding the function.

A trainable is named in the spec as ``mlp`` (built in) or ``package.module:function`` (the user's).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import torch

from caviar.trainables.context import TrialContext, worker_threads
from caviar.trainables.data import DataSpec
from caviar.trainables.lookup import check_function
from caviar.trainables.protocol import TrainContext

TrainFunction = Callable[[dict[str, Any], TrainContext], None]
BUILTIN = "mlp"
# Keys the orchestrator adds to a trial's config for the results tables (the coarse-to-fine round,
# the trial a confirmation re-trains); the trainable never sees them.
ROUND_KEY = "round"
CONFIRM_KEY = "confirm_of"
SWEEP_KEYS = frozenset({ROUND_KEY, CONFIRM_KEY})


def trainable_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config as the trainable sees it: no sweep bookkeeping keys, and no parameter whose
    condition is false (Ray Tune's own generator, used with PBT, gives those as None)."""
    return {k: v for k, v in config.items() if k not in SWEEP_KEYS and v is not None}


def resolve(name: str) -> TrainFunction:
    """The function a spec's ``trainable:`` names; ValueError if it cannot be found or called."""
    if name == BUILTIN:
        from caviar.trainables.mlp import train_mlp

        return train_mlp
    if name == "cnn":
        from caviar.trainables.cnn import train_cnn

        return train_cnn
    if name.startswith("sklearn:"):  # a scikit-learn estimator class (trainables/estimator.py)
        from caviar.trainables.estimator import EstimatorTrainable

        return EstimatorTrainable(name)
    module_name, sep, attribute = name.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"expected 'mlp' or 'package.module:function', got {name!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"cannot import module {module_name!r}: {error}") from None
    function = getattr(module, attribute, None)
    check_function(name, module_name, attribute, function)
    return function  # type: ignore[return-value]  # checked: callable as (config, ctx)


def as_tune_trainable(
    name: str, data: DataSpec | None, cpus_per_trial: float
) -> Callable[[dict[str, Any]], None]:
    """A Ray Tune function trainable that runs the named function with a fresh ``TrialContext``.

    The function is looked up by name inside the worker, so user code is imported where it runs.
    """

    def run_trial(config: dict[str, Any]) -> None:
        torch.set_num_threads(worker_threads(cpus_per_trial))
        ctx = TrialContext(data)
        resolve(name)(trainable_config(config), ctx)

    run_trial.__name__ = name.replace(".", "_").replace(":", "__")
    return run_trial
