"""Every knob of the built-in torch trainables, declared once: default, type, range, choices, fusability.

The other places that need a knob read it from here: ``mlp.DEFAULTS`` (the defaults), the spec's
check (``protocol.check_builtin``: names, ranges, choices), ``optim`` (the optimizer and schedule
names it builds), and the fused bundle (``fused.unfusable_reason``: which values a bundle
reproduces exactly). No torch import, so the spec can check knobs without loading torch.

A range is ``low``/``high`` with ``low_open``/``high_open``: a bound of None is unbounded, an open
bound excludes its value (``lr`` must be > 0, ``momentum`` < 1); every other bound is inclusive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from caviar.errors import shown

__all__ = [
    "KNOB_RULES",
    "LR_SCHEDULES",
    "MLP_KNOBS",
    "OPTIMIZERS",
    "TRAINING_KNOBS",
    "Knob",
    "check_knob",
    "defaults",
]

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta")
LR_SCHEDULES = ("constant", "step", "exponential", "cosine", "triangular", "one_cycle")
ACTIVATION_NAMES = ("relu", "leaky_relu", "tanh", "gelu", "elu", "selu", "silu", "sigmoid")
INITS = ("default", "kaiming", "xavier", "orthogonal")

_KIND_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


@dataclass(frozen=True)
class Knob:
    """One config key of a built-in trainable.

    ``fused``: the values a fused bundle reproduces exactly; empty means every valid value.
    """

    default: Any
    kind: type
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    fused: tuple[Any, ...] = ()

    def check(self, name: str, value: Any) -> None:
        """ValueError naming the knob when ``value`` has the wrong type, range or choice."""
        if self.choices:
            if value not in self.choices:
                raise ValueError(
                    f"{name}: unknown value {shown(value)} (known: {', '.join(sorted(self.choices))})"
                )
            return
        accepted: tuple[type, ...] = (int, float) if self.kind is float else (self.kind,)
        if (isinstance(value, bool) and self.kind is not bool) or not isinstance(value, accepted):
            raise ValueError(f"{name}: must be {_KIND_NAMES[self.kind]}, got {value!r}")
        if self.kind is bool:
            return
        number = float(value)  # type: ignore[arg-type]  # an int or float, checked above
        low, high = self.low, self.high
        if low is not None and (number <= low if self.low_open else number < low):
            sign = ">" if self.low_open else ">="
            raise ValueError(f"{name}: must be {sign} {low:g}, got {value!r}")
        if high is not None and (number >= high if self.high_open else number > high):
            sign = "<" if self.high_open else "<="
            raise ValueError(f"{name}: must be {sign} {high:g}, got {value!r}")

    def unfused(self, name: str, value: Any) -> str | None:
        """Why a bundle cannot reproduce ``value`` exactly, or None when it can."""
        if not self.fused or value in self.fused:
            return None
        if self.choices:
            shown = ", ".join(str(v) for v in self.fused)
            return f"{name} {value!r} is not fused (fused: {shown})"
        return f"{name} is not fused"


def _float(default: float, low: float | None = 0, high: float | None = None, **kw: Any) -> Knob:
    return Knob(default, float, low, high, **kw)


def _int(default: int, low: float | None = 0, **kw: Any) -> Knob:
    return Knob(default, int, low, None, **kw)


# The optimizer, its schedule and the batch loop: shared by every torch model family (mlp, cnn).
TRAINING_KNOBS: dict[str, Knob] = {
    "lr": _float(1e-3, low_open=True),
    "optimizer": Knob("adam", str, choices=OPTIMIZERS, fused=("sgd", "adam", "adamw")),
    "momentum": _float(0.9, high=1, high_open=True),  # sgd and rmsprop
    "nesterov": Knob(False, bool),
    "beta1": _float(0.9, high=1, high_open=True),
    "beta2": _float(0.999, high=1, high_open=True),
    "eps": _float(1e-8, low_open=True),
    "weight_decay": _float(0.0),
    "l1": _float(0.0),
    "batch_size": _int(64, low=1),
    "epochs": _int(10, low=1),
    "lr_schedule": Knob("constant", str, choices=LR_SCHEDULES),
    # gamma of step (per lr_step_epochs) and exponential (per epoch ** 1/10)
    "lr_decay": _float(0.1, low_open=True),
    "lr_step_epochs": _int(10, low=1),
    "warmup_epochs": _int(0),
    "cycle_epochs": _int(4, low=1),  # triangular: epochs per full cycle (up and down)
    "min_lr_ratio": _float(0.1, high=1),  # triangular / one_cycle: lowest lr as a fraction of lr
    "grad_clip": _float(0.0, fused=(0, 0.0)),  # max gradient norm; 0 disables
    "patience": _int(0),  # epochs without val improvement before stopping; 0 disables
    "seed": _int(0),
    "checkpoint_every": _int(1, low=1),
    "amp": Knob(False, bool, fused=(False,)),  # float16 autocast + gradient scaling, GPU only
}

# The mlp: the training knobs and its architecture.
MLP_KNOBS: dict[str, Knob] = {
    **TRAINING_KNOBS,
    "layers": _int(2),  # hidden layers
    "hidden_units": _int(64, low=1),
    "activation": Knob("relu", str, choices=ACTIVATION_NAMES),
    "dropout": _float(0.0, high=1),
    "batch_norm": Knob(False, bool, fused=(False,)),
    "init": Knob("default", str, choices=INITS),
}


def defaults(knobs: Mapping[str, Knob]) -> dict[str, Any]:
    """Each knob's default, by name."""
    return {name: knob.default for name, knob in knobs.items()}


KnobRule = tuple[type, float | None, float | None, bool, bool]
# The numeric knobs' ranges in the earlier tuple form (kind, low, high, low_open, high_open).
KNOB_RULES: dict[str, KnobRule] = {
    name: (k.kind, k.low, k.high, k.low_open, k.high_open)
    for name, k in MLP_KNOBS.items()
    if not k.choices
}


def check_knob(name: str, value: Any, knobs: Mapping[str, Knob] = MLP_KNOBS) -> None:
    """ValueError naming the knob when ``value`` is of the wrong type or out of its range."""
    knob = knobs.get(name)
    if knob is not None:
        knob.check(name, value)
