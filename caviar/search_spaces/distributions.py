"""Distributions of single hyperparameters, each on the scale the practice calls for.

Every distribution is a frozen dataclass, checked once at construction (``ValueError`` naming the
distribution and the bad value, like Optuna's ``optuna/distributions.py``). Bounds are inclusive at
both ends: ``[low, high]``.

Each distribution has a *warped unit-interval form*: ``from_unit`` maps ``u`` in ``[0, 1]`` onto the
distribution so that uniform ``u`` gives the intended scale (log for ``loguniform``, log of ``1 - x``
for ``reverse_loguniform``); ``to_unit`` is its inverse. Sampling, zooming and the conversions to other
libraries all work in that space, so they cannot disagree about the scale.
"""

from __future__ import annotations

from typing import Any

from caviar.search_spaces.base import (
    Distribution,
    FloatScale,
    RNGLike,
    Scalar,
    ValueType,
    as_generator,
    to_python,
)
from caviar.search_spaces.categorical import Choice, Constant, Grid
from caviar.search_spaces.numeric import MAX_EXACT_INT, Float, Integer

__all__ = [
    "FACTORIES",
    "MAX_EXACT_INT",
    "Choice",
    "Constant",
    "Distribution",
    "Float",
    "FloatScale",
    "Grid",
    "Integer",
    "RNGLike",
    "Scalar",
    "ValueType",
    "as_generator",
    "choice",
    "constant",
    "grid",
    "integer",
    "loguniform",
    "pow2",
    "reverse_loguniform",
    "to_python",
    "uniform",
]


# Factories: the names users write in Python and in YAML.


def uniform(low: float, high: float, step: float | None = None) -> Float:
    """Uniform on [low, high]; with ``step``, on the grid low, low + step, ... <= high."""
    return Float(low, high, "linear", step)


def loguniform(low: float, high: float, step: float | None = None) -> Float:
    """log(x) uniform: every decade of [low, high] gets the same share of trials (learning rates)."""
    return Float(low, high, "log", step)


def reverse_loguniform(low: float, high: float) -> Float:
    """log(1 - x) uniform: for momentum and Adam betas, where 0.99 -> 0.999 matters as 0.9 -> 0.99."""
    return Float(low, high, "reverse_log")


def integer(
    low: int, high: int, step: int = 1, log: bool = False, base: int | None = None
) -> Integer:
    """An integer in [low, high], both ends included; ``base=2``: powers of two, one per exponent."""
    return Integer(low, high, step, log, base)


def pow2(low: int, high: int) -> Integer:
    """Powers of two in [low, high], both included, each exponent equally likely (batch sizes)."""
    return Integer(low, high, base=2)


def choice(*values: Scalar) -> Choice:
    """One of ``values``, each equally likely."""
    return Choice(tuple(values))


def grid(*values: Scalar) -> Grid:
    """Values crossed exhaustively by a grid search."""
    return Grid(tuple(values))


def constant(value: Scalar) -> Constant:
    """A value every trial gets."""
    return Constant(value)


FACTORIES: dict[str, Any] = {
    "uniform": uniform,
    "loguniform": loguniform,
    "reverse_loguniform": reverse_loguniform,
    "integer": integer,
    "pow2": pow2,
    "choice": choice,
    "grid": grid,
    "constant": constant,
}
