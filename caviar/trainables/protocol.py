"""What a built-in trainable declares to the spec: its knobs, the metrics it reports, its checks.

The spec calls ``check_builtin`` once, at parse time, so that a mistyped knob or a metric the
trainable never reports is a one-line error before Ray starts.
"""

from __future__ import annotations

from typing import Any

from caviar.errors import SpecError, closest, nested_error, shown
from caviar.search_spaces import Choice, Constant, Float, Integer, Space
from caviar.trainables.adapter import BUILTIN
from caviar.trainables.data import DataSpec

MLP_METRICS = frozenset(
    {"train_loss", "val_loss", "val_accuracy", "lr_now", "epoch_time_s", "n_params"}
)


def builtin_metrics(trainable: str, data: DataSpec | None) -> frozenset[str] | None:
    """The metrics a built-in trainable reports on ``data``; None for a user's trainable."""
    if trainable != BUILTIN:
        return None
    if data is not None and data.synthetic == "regression":
        return MLP_METRICS - {"val_accuracy"}
    return MLP_METRICS


def check_builtin(
    trainable: str, space: Space, metric: str, data: DataSpec | None, path: str = "metric"
) -> None:
    """Raise SpecError for a knob the built-in ``trainable`` lacks, a knob value it refuses, or a
    ``metric`` it does not report. User trainables are not checked here."""
    metrics = builtin_metrics(trainable, data)
    if metrics is None:
        return
    _check_mlp_knobs(space)
    if metric not in metrics:
        raise SpecError(
            path,
            f"the mlp trainable does not report {shown(metric)} (it reports: {', '.join(sorted(metrics))})",
        )


def _extremes(dist: Any) -> list[Any]:
    """The values of a distribution that a range check must see: its bounds, choices or value."""
    if isinstance(dist, Choice):
        return list(dist.values)
    if isinstance(dist, Constant):
        return [dist.value]
    if isinstance(dist, Float | Integer):
        return [dist.low, dist.high]
    return []


def _check_mlp_knobs(space: Space) -> None:
    from caviar.trainables.knobs import check_knob
    from caviar.trainables.mlp import ACTIVATIONS, DEFAULTS, LR_SCHEDULES

    for name in space:
        if name not in DEFAULTS:
            suggestion = closest(name, set(DEFAULTS))
            hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
            raise SpecError(f"space.{name}", f"not a knob of the mlp trainable{hint}")
    for name in space:
        for value in _extremes(space[name]):
            try:
                check_knob(name, value)
            except ValueError as error:
                raise nested_error("space", error) from None
    allowed = {
        "optimizer": {"sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"},
        "activation": set(ACTIVATIONS),
        "lr_schedule": set(LR_SCHEDULES),
        "init": {"default", "kaiming", "xavier", "orthogonal"},
    }
    for name, values in allowed.items():
        if name not in space:
            continue
        dist = space[name]
        options = dist.values if isinstance(dist, Choice) else [getattr(dist, "value", None)]
        for option in options:
            if option not in values:
                raise SpecError(
                    f"space.{name}",
                    f"unknown value {shown(option)} (known: {', '.join(sorted(values))})",
                )
