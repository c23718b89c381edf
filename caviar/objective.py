"""What a sweep optimises: one metric and its direction, and the one place "better" is decided.

Every ranking, best-so-far, early-stopping sign and Optuna direction in caviar goes through an
``Objective`` so that "min" and "max" cannot drift apart between modules.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Mode = Literal["min", "max"]
MODES: tuple[Mode, ...] = ("min", "max")


@dataclass(frozen=True)
class Objective:
    """``metric`` to be minimised (``mode="min"``) or maximised (``mode="max"``)."""

    metric: str
    mode: Mode = "min"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be 'min' or 'max', got {self.mode!r}")

    @property
    def sign(self) -> float:
        """+1 for min, -1 for max: ``sign * value`` is a loss (smaller is better)."""
        return 1.0 if self.mode == "min" else -1.0

    @property
    def maximize(self) -> bool:
        """True when larger values are better."""
        return self.mode == "max"

    @property
    def direction(self) -> Literal["minimize", "maximize"]:
        """Optuna's name for the direction."""
        return "maximize" if self.maximize else "minimize"

    @property
    def ascending(self) -> bool:
        """The pandas/``sorted`` order that puts the best first."""
        return not self.maximize

    def loss(self, value: float) -> float:
        """``value`` as a loss: smaller is better whatever the mode; NaN stays NaN."""
        return self.sign * float(value)

    def better(self, value: float, than: float | None) -> bool:
        """True when ``value`` beats ``than`` (None or NaN is beaten by any number; NaN never wins)."""
        if value is None or math.isnan(value):
            return False
        if than is None or math.isnan(than):
            return True
        return self.loss(value) < self.loss(than)

    def best(self, values: Iterable[float]) -> float | None:
        """The best of ``values`` ignoring NaN, or None when there is none."""
        result: float | None = None
        for value in values:
            if self.better(value, result):
                result = float(value)
        return result

    def worst(self) -> float:
        """A value every real result beats (+inf for min, -inf for max)."""
        return math.inf if self.mode == "min" else -math.inf


def as_mode(value: object) -> Mode:
    """``value`` as a Mode; anything but "max" reads as "min" (the spec has already checked it)."""
    return "max" if value == "max" else "min"
