"""The range of each numeric knob of the built-in mlp, checked before a sweep starts.

A rule is (kind, low, high, low_open, high_open): ``kind`` is ``int``, ``float`` or ``bool``; a bound of
None is unbounded; an open bound excludes its value (``lr`` must be > 0, ``dropout`` < 1).
"""

from __future__ import annotations

from typing import Any

KnobRule = tuple[type, float | None, float | None, bool, bool]

KNOB_RULES: dict[str, KnobRule] = {
    "lr": (float, 0, None, True, False),
    "momentum": (float, 0, 1, False, True),
    "nesterov": (bool, None, None, False, False),
    "beta1": (float, 0, 1, False, True),
    "beta2": (float, 0, 1, False, True),
    "eps": (float, 0, None, True, False),
    "weight_decay": (float, 0, None, False, False),
    "l1": (float, 0, None, False, False),
    "layers": (int, 0, None, False, False),
    "hidden_units": (int, 1, None, False, False),
    "dropout": (float, 0, 1, False, False),
    "batch_norm": (bool, None, None, False, False),
    "batch_size": (int, 1, None, False, False),
    "epochs": (int, 1, None, False, False),
    "lr_decay": (float, 0, None, True, False),
    "lr_step_epochs": (int, 1, None, False, False),
    "warmup_epochs": (int, 0, None, False, False),
    "cycle_epochs": (int, 1, None, False, False),
    "min_lr_ratio": (float, 0, 1, False, False),
    "grad_clip": (float, 0, None, False, False),
    "patience": (int, 0, None, False, False),
    "seed": (int, 0, None, False, False),
    "checkpoint_every": (int, 1, None, False, False),
    "amp": (bool, None, None, False, False),
}

_KIND_NAMES = {int: "an integer", float: "a number", bool: "true or false"}


def check_knob(name: str, value: Any) -> None:
    """ValueError naming the knob when ``value`` is of the wrong type or out of its range."""
    rule = KNOB_RULES.get(name)
    if rule is None:
        return
    kind, low, high, low_open, high_open = rule
    number: float
    accepted: tuple[type, ...] = (int, float) if kind is float else (kind,)
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, accepted):
        raise ValueError(f"{name}: must be {_KIND_NAMES[kind]}, got {value!r}")
    number = float(value)  # type: ignore[arg-type]
    if low is not None and (number <= low if low_open else number < low):
        raise ValueError(f"{name}: must be {'>' if low_open else '>='} {low:g}, got {value!r}")
    if high is not None and (number >= high if high_open else number > high):
        raise ValueError(f"{name}: must be {'<' if high_open else '<='} {high:g}, got {value!r}")
