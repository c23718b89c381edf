"""What trainables see and what built-in trainables declare: the ``TrainContext`` Protocol, knobs, metrics.

``TrainContext`` is the ``ctx`` API every trainable is written against (the built-in ones, users',
the fused bundle): the concrete context that talks to Ray Tune lives with the orchestration, so
trainables never import Ray Tune, and tests pass an in-memory one.

The spec calls ``check_builtin`` once, at parse time, so that a mistyped knob or a metric the
trainable never reports is a one-line error before Ray starts. Knobs and metrics are read from the
trainables' own declarations (``knobs.py``, ``loop.REPORTED``), never copied here. No torch import
at run time: the spec checks without loading torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from caviar.errors import SpecError, closest, nested_error, shown
from caviar.search_spaces import Choice, Constant, Float, Integer, Space
from caviar.trainables.data import DataSpec
from caviar.trainables.knobs import Knob

if TYPE_CHECKING:
    import torch

    from caviar.trainables.data import Dataset

__all__ = ["BUILTIN_FAMILIES", "MLP_METRICS", "TrainContext", "builtin_metrics", "check_builtin"]


class TrainContext(Protocol):
    """The ``ctx`` a trainable function ``train(config, ctx)`` receives."""

    iteration: int
    """The last iteration reported (0 on a fresh start; the checkpoint's after ``restore``)."""

    @property
    def data(self) -> Dataset:
        """The sweep's dataset (``data:`` in the spec)."""
        ...

    @property
    def device(self) -> torch.device:
        """The device this trial should train on (its GPU when it was given one, else cpu)."""
        ...

    @property
    def trial_id(self) -> str:
        """This trial's id, as it appears in the results."""
        ...

    def restore(self) -> Any:
        """The state passed with the last checkpointed report, or None on a fresh start."""
        ...

    def report(self, checkpoint: Any = None, **metrics: Any) -> None:
        """One iteration's metrics, handed on at once; ``checkpoint``: state for that iteration."""
        ...


# Built-in trainable name -> "module:attribute" of its loop.ModelFamily (imported when checked).
BUILTIN_FAMILIES: dict[str, str] = {
    "mlp": "caviar.trainables.mlp:MLP",
    "cnn": "caviar.trainables.cnn:CNN",
}

# The metrics of the shared epoch loop (loop.REPORTED, kept torch-free here; a test ties them).
MLP_METRICS = frozenset(
    {"train_loss", "val_loss", "val_accuracy", "lr_now", "epoch_time_s", "n_params"}
)


def builtin_metrics(trainable: str, data: DataSpec | None) -> frozenset[str] | None:
    """The metrics a built-in trainable reports on ``data``; None for a user's trainable."""
    if trainable not in BUILTIN_FAMILIES:
        return None
    if data is not None and data.synthetic == "regression":
        return MLP_METRICS - {"val_accuracy"}
    return MLP_METRICS


def family_knobs(trainable: str) -> Mapping[str, Knob]:
    """The knob declarations of a built-in trainable."""
    module, _, attribute = BUILTIN_FAMILIES[trainable].partition(":")
    knobs: Mapping[str, Knob] = getattr(importlib.import_module(module), attribute).knobs
    return knobs


def check_builtin(
    trainable: str, space: Space, metric: str, data: DataSpec | None, path: str = "metric"
) -> None:
    """Raise SpecError for a knob the built-in ``trainable`` lacks, a knob value it refuses, or a
    ``metric`` it does not report. User trainables are not checked here."""
    metrics = builtin_metrics(trainable, data)
    if metrics is None:
        return
    _check_knobs(trainable, _knobs_without_torch(trainable), space)
    if metric not in metrics:
        raise SpecError(
            path,
            f"the {trainable} trainable does not report {shown(metric)} "
            f"(it reports: {', '.join(sorted(metrics))})",
        )


def _knobs_without_torch(trainable: str) -> Mapping[str, Knob]:
    """The mlp's knobs straight from knobs.py (no torch); other families from their module."""
    if trainable == "mlp":
        from caviar.trainables.knobs import MLP_KNOBS

        return MLP_KNOBS
    return family_knobs(trainable)


def _extremes(dist: Any) -> list[Any]:
    """The values of a distribution that a range check must see: its bounds, choices or value."""
    if isinstance(dist, Choice):
        return list(dist.values)
    if isinstance(dist, Constant):
        return [dist.value]
    if isinstance(dist, Float | Integer):
        return [dist.low, dist.high]
    return []


def _check_knobs(trainable: str, knobs: Mapping[str, Knob], space: Space) -> None:
    for name in space:
        if name not in knobs:
            suggestion = closest(name, set(knobs))
            hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
            raise SpecError(f"space.{name}", f"not a knob of the {trainable} trainable{hint}")
    for name in space:
        for value in _extremes(space[name]):
            try:
                knobs[name].check(name, value)
            except ValueError as error:
                raise nested_error("space", error) from None
