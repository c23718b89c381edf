"""The base of every distribution: its warped unit-interval form, sampling, and shared types.

Every distribution maps ``u`` in ``[0, 1]`` onto its values (``from_unit``) so that uniform ``u``
gives the intended scale, and back (``to_unit``); sampling, zooming and the conversions to other
libraries all work in that space, so they cannot disagree about the scale.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

Scalar: TypeAlias = bool | int | float | str
RNGLike: TypeAlias = int | np.random.Generator | None
FloatScale: TypeAlias = Literal["linear", "log", "reverse_log"]
ValueType: TypeAlias = Literal["float", "int", "str", "bool", "mixed"]


def as_generator(rng: RNGLike) -> np.random.Generator:
    """An int seed, a Generator or None (fresh entropy) as a numpy Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def _number(value: float) -> str:
    """A float as the shortest text that parses back to the same value."""
    return repr(value)


def _value_type(values: Sequence[Scalar]) -> ValueType:
    kinds = {type(v) for v in values}
    if kinds == {bool}:
        return "bool"
    if kinds == {str}:
        return "str"
    if kinds <= {int}:
        return "int"
    if kinds <= {int, float}:
        return "float"
    return "mixed"


class Distribution(ABC):
    """One hyperparameter's distribution, with a warped unit-interval form."""

    name: ClassVar[str]

    @property
    @abstractmethod
    def value_type(self) -> ValueType:
        """The type of the values drawn: the column type of this parameter in Parquet."""

    @abstractmethod
    def from_unit(self, u: npt.ArrayLike) -> np.ndarray:
        """Map points of [0, 1] onto values; uniform points give this distribution."""

    @abstractmethod
    def to_unit(self, x: npt.ArrayLike) -> np.ndarray:
        """Inverse of ``from_unit``: the point of [0, 1] whose image is ``x``."""

    @abstractmethod
    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one this distribution can produce."""

    def sample(self, n: int, rng: RNGLike = None) -> np.ndarray:
        """Draw ``n`` independent values as a numpy array."""
        if n < 0:
            raise ValueError(f"{self!r}.sample: n must be >= 0, got {n}")
        return self.from_unit(as_generator(rng).random(n))

    def sample_one(self, rng: RNGLike = None) -> Scalar:
        """Draw one value as a plain Python scalar."""
        return to_python(self.sample(1, rng)[0])


def _points(u: npt.ArrayLike) -> np.ndarray:
    """Points of the unit interval as a float array, clipped into [0, 1]."""
    return np.clip(np.asarray(u, dtype=float), 0.0, 1.0)


def to_python(value: Any) -> Scalar:
    """A numpy scalar as the equivalent plain Python scalar (YAML, JSON and Ray want those)."""
    if isinstance(value, np.generic):
        return value.item()  # type: ignore[no-any-return]
    return value  # type: ignore[no-any-return]
