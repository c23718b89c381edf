"""Numeric distributions: ``Float`` (linear, log and reverse-log scales, optional step) and
``Integer`` (inclusive ranges, steps, log scale, powers of a base). Bounds are inclusive: ``[low, high]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from caviar.search_spaces.base import (
    Distribution,
    FloatScale,
    ValueType,
    _number,
    _points,
)


@dataclass(frozen=True, repr=False)
class Float(Distribution):
    """A real number in [low, high] on a linear, log, or log-of-(1 - x) scale, optionally on a step grid."""

    low: float
    high: float
    scale: FloatScale = "linear"
    step: float | None = None

    name: ClassVar[str] = "float"

    def __post_init__(self) -> None:
        if self.scale not in ("linear", "log", "reverse_log"):
            raise ValueError(
                f"float: scale must be 'linear', 'log' or 'reverse_log', got {self.scale!r}"
            )
        label = self.label
        low, high = self.low, self.high
        for bound, value in (("low", low), ("high", high)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{label}: {bound} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{label}: {bound} must be finite, got {value!r}")
        object.__setattr__(self, "low", float(low))
        object.__setattr__(self, "high", float(high))
        if low > high:
            raise ValueError(f"{label}: low must be <= high, got low={low}, high={high}")
        if self.scale == "log" and low <= 0:
            raise ValueError(f"{label}: low must be > 0, got {low}")
        if self.scale == "reverse_log" and not (low >= 0 and high < 1):
            raise ValueError(
                f"{label}: bounds must lie in [0, 1) since 1 - x is log-scaled, "
                f"got low={low}, high={high}"
            )
        if self.step is not None:
            if isinstance(self.step, bool) or not isinstance(self.step, int | float):
                raise ValueError(f"{label}: step must be a number, got {self.step!r}")
            if not (self.step > 0 and math.isfinite(self.step)):
                raise ValueError(f"{label}: step must be > 0, got {self.step}")
            object.__setattr__(self, "step", float(self.step))
            if self.scale == "reverse_log":
                raise ValueError(f"{label}: step is not supported on a reverse_log scale")
            steps = (high - low) / self.step
            if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
                raise ValueError(
                    f"{label}: high - low must be a multiple of step, "
                    f"got low={low}, high={high}, step={self.step}"
                )

    @property
    def label(self) -> str:
        return {"linear": "uniform", "log": "loguniform", "reverse_log": "reverse_loguniform"}[
            self.scale
        ]

    @property
    def value_type(self) -> ValueType:
        return "float"

    @property
    def size(self) -> int | None:
        """How many values a stepped distribution can take (None without a step)."""
        if self.step is None:
            return None
        return round((self.high - self.low) / self.step) + 1

    def _warp(self, x: np.ndarray) -> np.ndarray:
        if self.scale == "log":
            return np.log(x)
        if self.scale == "reverse_log":
            return np.log1p(-x)
        return x

    def _unwarp(self, z: np.ndarray) -> np.ndarray:
        if self.scale == "log":
            return np.exp(z)
        if self.scale == "reverse_log":
            return -np.expm1(z)
        return z

    def _edges(self) -> tuple[float, float]:
        """The warped interval that unit points map onto.

        With a step the range is widened by half a step at both ends before warping (as Optuna's
        ``_transform`` does for integers), so the end points of the grid get their full share.
        """
        low, high = self.low, self.high
        if self.step is not None:
            half = self.step / 2
            low = max(low - half, low / 2) if self.scale == "log" else low - half
            high = high + half
        lo, hi = self._warp(np.array([low, high]))
        return float(lo), float(hi)

    def _snap(self, x: np.ndarray) -> np.ndarray:
        """Values rounded onto the grid low, low + step, ..., high."""
        assert self.step is not None
        index = np.clip(np.round((x - self.low) / self.step), 0, (self.size or 1) - 1)
        return np.asarray(np.minimum(self.low + index * self.step, self.high))

    def from_unit(self, unit: npt.ArrayLike) -> np.ndarray:
        u = _points(unit)
        lo, hi = self._edges()
        x = self._unwarp(lo + u * (hi - lo))
        if self.step is not None:
            x = self._snap(x)
        return np.clip(x, self.low, self.high)

    def to_unit(self, value: npt.ArrayLike) -> np.ndarray:
        x = np.clip(np.asarray(value, dtype=float), self.low, self.high)
        lo, hi = self._edges()
        if hi == lo:
            return np.full_like(x, 0.5)
        return np.clip((self._warp(x) - lo) / (hi - lo), 0.0, 1.0)

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            return False
        x = float(value)
        if not self.low <= x <= self.high:
            return False
        if self.step is None:
            return True
        return bool(abs(self._snap(np.array([x]))[0] - x) <= 1e-9 * max(1.0, abs(x)))

    def __repr__(self) -> str:
        args = f"{_number(self.low)}, {_number(self.high)}"
        if self.step is not None:
            args += f", step={_number(self.step)}"
        return f"{self.label}({args})"


MAX_EXACT_INT = 2**53


@dataclass(frozen=True, repr=False)
class Integer(Distribution):
    """An integer in [low, high] (both included), on a step grid, a log scale, or powers of a base.

    On a log scale each value ``k`` is drawn with probability proportional to
    ``log(k + 0.5) - log(k - 0.5)``: the range is widened by 0.5 at both ends, sampled in log space
    and rounded, so the top value is drawn as often as its log-width implies (STYLE.md, lesson 3).

    With ``base`` (``integer(16, 128, base=2)``) the values are the powers ``base ** e`` between
    ``low`` and ``high``, which must be powers themselves; each exponent is equally likely
    (16, 32, 64, 128 each a quarter of the draws): the batch sizes and widths practice uses.
    """

    low: int
    high: int
    step: int = 1
    log: bool = False
    base: int | None = None

    name: ClassVar[str] = "integer"

    def __post_init__(self) -> None:
        for bound, value in (("low", self.low), ("high", self.high), ("step", self.step)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"integer: {bound} must be an integer, got {value!r}")
            if not math.isfinite(value) or not float(value).is_integer():
                raise ValueError(f"integer: {bound} must be an integer, got {value!r}")
        if not isinstance(self.log, bool):
            raise ValueError(f"integer: log must be True or False, got {self.log!r}")
        object.__setattr__(self, "low", int(self.low))
        object.__setattr__(self, "high", int(self.high))
        object.__setattr__(self, "step", int(self.step))
        for bound, value in (("low", self.low), ("high", self.high)):
            if abs(value) > MAX_EXACT_INT:
                # Drawn through floats: beyond 2**53 neighbouring integers cannot be told apart,
                # and beyond 2**63 a Parquet int64 column wraps them negative.
                raise ValueError(
                    f"integer: {bound} must lie within +-2**53 (9.0e15), got {value:.3g}"
                )
        if self.low > self.high:
            raise ValueError(f"integer: low must be <= high, got low={self.low}, high={self.high}")
        if self.step < 1:
            raise ValueError(f"integer: step must be >= 1, got {self.step}")
        if (self.high - self.low) % self.step:
            raise ValueError(
                f"integer: high - low must be a multiple of step, "
                f"got low={self.low}, high={self.high}, step={self.step}"
            )
        if self.log and self.low < 1:
            raise ValueError(f"integer: low must be >= 1 on a log scale, got {self.low}")
        if self.log and self.step != 1:
            raise ValueError(f"integer: step must be 1 on a log scale, got {self.step}")
        if self.base is not None:
            self._check_base()

    def _check_base(self) -> None:
        base = self.base
        if isinstance(base, bool) or not isinstance(base, int) or base < 2:
            raise ValueError(f"integer: base must be an integer >= 2, got {base!r}")
        if self.step != 1 or self.log:
            raise ValueError(
                f"integer: base={base} cannot be combined with step or log "
                "(powers of a base are already on a log scale)"
            )
        for bound, value in (("low", self.low), ("high", self.high)):
            if _exponent(value, base) is None:
                raise ValueError(f"integer: {bound} must be a power of {base}, got {value}")

    @property
    def value_type(self) -> ValueType:
        return "int"

    @property
    def exponents(self) -> tuple[int, int]:
        """The exponents of ``low`` and ``high`` when ``base`` is set (else low and high)."""
        if self.base is None:
            return self.low, self.high
        lo, hi = _exponent(self.low, self.base), _exponent(self.high, self.base)
        assert lo is not None and hi is not None
        return lo, hi

    @property
    def size(self) -> int:
        """How many values the distribution can take."""
        if self.base is not None:
            lo, hi = self.exponents
            return hi - lo + 1
        return (self.high - self.low) // self.step + 1

    def values(self) -> list[int]:
        """Every value, in increasing order (for grids and categorical stand-ins)."""
        if self.base is not None:
            lo, hi = self.exponents
            return [self.base**e for e in range(lo, hi + 1)]
        return list(range(self.low, self.high + 1, self.step))

    def _log_edges(self) -> tuple[float, float]:
        return math.log(self.low - 0.5), math.log(self.high + 0.5)

    def from_unit(self, unit: npt.ArrayLike) -> np.ndarray:
        u = _points(unit)
        if self.log:
            lo, hi = self._log_edges()
            x = np.round(np.exp(lo + u * (hi - lo)))
            return np.clip(x, self.low, self.high).astype(np.int64)
        index = np.minimum(np.floor(u * self.size), self.size - 1).astype(np.int64)
        if self.base is not None:
            return np.asarray(self.base ** (self.exponents[0] + index), dtype=np.int64)
        return (self.low + index * self.step).astype(np.int64)

    def to_unit(self, value: npt.ArrayLike) -> np.ndarray:
        x = np.clip(np.asarray(value, dtype=float), self.low, self.high)
        if self.log:
            lo, hi = self._log_edges()
            return np.asarray((np.log(x) - lo) / (hi - lo))
        if self.base is not None:
            index = np.round(np.log(x) / math.log(self.base)) - self.exponents[0]
            return np.asarray((index + 0.5) / self.size)
        index = np.round((x - self.low) / self.step)
        return np.asarray((index + 0.5) / self.size)

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            return False
        k = int(value)
        if not self.low <= k <= self.high:
            return False
        if self.base is not None:
            return _exponent(k, self.base) is not None
        return (k - self.low) % self.step == 0

    def __repr__(self) -> str:
        extra = ""
        if self.step != 1:
            extra += f", step={self.step}"
        if self.log:
            extra += ", log=True"
        if self.base is not None:
            extra += f", base={self.base}"
        return f"integer({self.low}, {self.high}{extra})"


def _exponent(value: int, base: int) -> int | None:
    """``e`` with ``base ** e == value``, or None if ``value`` is not a power of ``base``."""
    if value < 1:
        return None
    e = 0
    while value % base == 0:
        value //= base
        e += 1
    return e if value == 1 else None
