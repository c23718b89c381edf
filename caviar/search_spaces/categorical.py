"""Categorical distributions: ``Choice`` (one of a few values), ``Grid`` (crossed exhaustively by
a grid search) and ``Constant`` (never searched)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from caviar.search_spaces.base import (
    Distribution,
    Scalar,
    ValueType,
    _points,
    _value_type,
    to_python,
)


def _check_values(label: str, values: Sequence[Any]) -> tuple[Scalar, ...]:
    if len(values) == 0:
        raise ValueError(f"{label}: needs at least one value, got none")
    for value in values:
        if not isinstance(value, bool | int | float | str):
            raise ValueError(f"{label}: values must be numbers or strings, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{label}: values must be finite, got {value!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"{label}: values must be distinct, got {list(values)!r}")
    return tuple(values)


@dataclass(frozen=True, repr=False)
class Choice(Distribution):
    """One of a few values, each equally likely (optimizer, activation, a set of batch sizes)."""

    values: tuple[Scalar, ...]

    name: ClassVar[str] = "choice"

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", _check_values(self.name, self.values))
        if self.value_type == "mixed":
            raise ValueError(f"{self.name}: values must share one type, got {list(self.values)!r}")

    @property
    def value_type(self) -> ValueType:
        return _value_type(self.values)

    def from_unit(self, unit: npt.ArrayLike) -> np.ndarray:
        u = _points(unit)
        index = np.minimum(np.floor(u * len(self.values)), len(self.values) - 1).astype(int)
        return np.asarray(self.values, dtype=object if self.value_type == "str" else None)[index]

    def to_unit(self, x: npt.ArrayLike) -> np.ndarray:
        index = []
        for v in np.atleast_1d(np.asarray(x, dtype=object)):
            if not self.contains(v):
                raise ValueError(f"{self!r}: {v!r} is not one of the values")
            index.append(self.values.index(to_python(v)))
        return (np.asarray(index, dtype=float) + 0.5) / len(self.values)

    def contains(self, value: Any) -> bool:
        value = to_python(value)
        return any(type(value) is type(v) and value == v for v in self.values) or (
            self.value_type == "float" and isinstance(value, int | float) and value in self.values
        )

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(repr(v) for v in self.values)})"


@dataclass(frozen=True, repr=False)
class Grid(Choice):
    """Values that a grid search visits exhaustively; a random search draws among them."""

    name: ClassVar[str] = "grid"


@dataclass(frozen=True, repr=False)
class Constant(Distribution):
    """A fixed value: part of every trial's config, never searched."""

    value: Scalar

    name: ClassVar[str] = "constant"

    def __post_init__(self) -> None:
        _check_values(self.name, [self.value])

    @property
    def value_type(self) -> ValueType:
        return _value_type([self.value])

    def from_unit(self, u: npt.ArrayLike) -> np.ndarray:
        n = np.asarray(u).shape
        return np.full(n, self.value, dtype=object if isinstance(self.value, str) else None)

    def to_unit(self, x: npt.ArrayLike) -> np.ndarray:
        return np.full(np.asarray(x, dtype=object).shape, 0.5)

    def contains(self, value: Any) -> bool:
        return bool(to_python(value) == self.value)

    def __repr__(self) -> str:
        return f"constant({self.value!r})"
