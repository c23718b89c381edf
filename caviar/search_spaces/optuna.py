"""THE mapping of caviar distributions to Optuna's, and of values between the two coordinates.

Every consumer (TPE and NSGA-II through Ray's OptunaSearch, a warm start's study, fANOVA
importance) uses this one mapping, so each parameter is seen on its own scale everywhere: a
loguniform on a log scale, a reverse_loguniform as ``1 - x`` on a log scale, a log integer as
Optuna's log ``IntDistribution``, and a power of a base as its exponent (equal steps in ``log``).

Optuna (``to_optuna``/``from_optuna``/``suggest_config``): each searched parameter gets an Optuna
distribution *in Optuna's coordinates*, under its own name:

* ``uniform``/``loguniform`` -> ``FloatDistribution(low, high, log=..., step=...)``;
* ``reverse_loguniform(a, b)`` -> ``FloatDistribution(1 - b, 1 - a, log=True)`` over ``y = 1 - x``;
  ``from_optuna`` gives back ``x = 1 - y``;
* ``loguniform`` with a step (Optuna has no log + step) -> ``FloatDistribution`` with ``log=True``
  over the range widened by half a step; ``from_optuna`` rounds onto the grid;
* ``integer`` (step, log) -> ``IntDistribution`` with the same inclusive bounds: Optuna widens log
  integers by 0.5 and rounds, as caviar does, so the top value keeps its share;
* powers of a base -> ``IntDistribution`` over the exponents; ``from_optuna`` gives ``base ** e``;
* ``choice``/``grid`` -> ``CategoricalDistribution``; constants get no distribution (added back by
  ``from_optuna``).

``to_optuna`` lists every searched parameter, conditional or not. ``suggest_config`` is the
define-by-run form a TPE searcher uses: in dependency order it suggests only the parameters whose
conditions hold, so an inactive parameter is neither suggested nor in the config.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from caviar.search_spaces.distributions import (
    Choice,
    Constant,
    Distribution,
    Float,
    Integer,
    to_python,
)
from caviar.search_spaces.space import Config, Space

if TYPE_CHECKING:
    import optuna


def optuna_distribution(dist: Distribution) -> optuna.distributions.BaseDistribution | None:
    """The Optuna distribution of one caviar distribution, in Optuna's coordinates (None for a
    constant): see the module docstring."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if isinstance(dist, Constant):
        return None
    if isinstance(dist, Choice):
        return CategoricalDistribution(list(dist.values))
    if isinstance(dist, Integer):
        if dist.base is not None:
            return IntDistribution(*dist.exponents)
        return IntDistribution(dist.low, dist.high, log=dist.log, step=dist.step)
    assert isinstance(dist, Float)
    if dist.scale == "reverse_log":
        return FloatDistribution(1.0 - dist.high, 1.0 - dist.low, log=True)
    if dist.scale == "log" and dist.step is not None:
        lo, hi = dist._edges()
        return FloatDistribution(math.exp(lo), math.exp(hi), log=True)
    return FloatDistribution(dist.low, dist.high, log=dist.scale == "log", step=dist.step)


def to_optuna(space: Space) -> dict[str, optuna.distributions.BaseDistribution]:
    """Optuna distributions of the searched parameters, in Optuna's coordinates.

    Conditional parameters are listed too (Optuna's distributions carry no conditions: use
    ``suggest_config`` to suggest only the active ones). ``from_optuna`` maps values back.
    """
    out = {}
    for name, param in space.params.items():
        dist = optuna_distribution(param.distribution)
        if dist is not None:
            out[name] = dist
    return out


def from_optuna_value(dist: Distribution, value: Any) -> Any:
    """One value in Optuna's coordinates (see ``to_optuna``) as the caviar value."""
    if isinstance(dist, Constant):
        return dist.value
    if isinstance(dist, Choice):
        return to_python(value)
    if isinstance(dist, Integer):
        if dist.base is not None:
            return int(dist.base ** int(value))
        return int(value)
    assert isinstance(dist, Float)
    if dist.scale == "reverse_log":
        return float(np.clip(1.0 - float(value), dist.low, dist.high))
    if dist.scale == "log" and dist.step is not None:
        return float(np.clip(dist._snap(np.array([float(value)]))[0], dist.low, dist.high))
    return float(value)


def to_optuna_value(dist: Distribution, value: Any) -> Any:
    """One caviar value in Optuna's coordinates (the inverse of ``from_optuna_value``)."""
    if isinstance(dist, Choice):
        return to_python(value)
    if isinstance(dist, Integer):
        if dist.base is not None:
            return round(math.log(int(value), dist.base))
        return int(value)
    assert isinstance(dist, Float)
    if dist.scale == "reverse_log":
        return 1.0 - float(value)
    return float(value)


def from_optuna(space: Space, params: Mapping[str, Any]) -> Config:
    """A caviar config from Optuna params (e.g. ``trial.params``): active parameters only,
    values mapped back from Optuna's coordinates, constants added."""
    config: Config = {}
    for name, param in space.params.items():
        if not param.active(config):
            continue
        if isinstance(param.distribution, Constant):
            config[name] = param.distribution.value
        elif name in params:
            config[name] = from_optuna_value(param.distribution, params[name])
        else:
            raise ValueError(f"{name}: active in the space but missing from the Optuna params")
    return config


def suggest_config(trial: optuna.trial.BaseTrial, space: Space) -> Config:
    """Suggest a config for ``trial`` (define-by-run): only active parameters are suggested.

    Parents come before children (the Space keeps dependency order), so a condition is checked on
    values already suggested; constants are added as they are. Values are caviar values (a
    reverse_loguniform's ``x``, not Optuna's ``1 - x``).
    """
    config: Config = {}
    for name, param in space.params.items():
        if not param.active(config):
            continue
        dist = param.distribution
        optuna_dist = optuna_distribution(dist)
        if optuna_dist is None:
            config[name] = from_optuna_value(dist, None)
            continue
        config[name] = from_optuna_value(dist, _suggest(trial, name, optuna_dist))
    return config


def _suggest(
    trial: optuna.trial.BaseTrial, name: str, dist: optuna.distributions.BaseDistribution
) -> Any:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log, step=dist.step)
    assert isinstance(dist, CategoricalDistribution)
    return trial.suggest_categorical(name, dist.choices)
