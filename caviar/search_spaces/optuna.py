"""Conversion of a caviar Space to Ray Tune search domains and to Optuna distributions.

Both conversions keep each parameter's scale and its inclusive bounds.

Ray Tune (``to_ray_tune``): a distribution Ray draws the same way becomes Ray's own domain
(``tune.uniform``, ``tune.loguniform``, ``tune.randint(low, high + 1)``, ``tune.choice``,
``tune.grid_search``; a constant stays a plain value). The others (``reverse_loguniform``, log and
stepped integers, powers of two, stepped floats) become a Ray ``Float``/``Integer`` domain whose
sampler draws ``u`` from Ray's random state and maps it through the caviar distribution's
``from_unit``: ``log10(1 - x)`` of a reverse_loguniform stays uniform and a log integer keeps its
top value (Ray's own ``lograndint`` floors and never draws it). Ray has no conditional parameters: a
conditional one becomes a ``tune.sample_from``-style ``Function`` domain that draws the value when
its condition holds on the already-resolved parents and gives ``None`` otherwise (Ray cannot drop
a key). Searchers that convert Ray domains themselves (HyperOpt, Optuna's Ray wrapper) reject the
custom ones; caviar's own searchers work on the Space directly.

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
    Grid,
    Integer,
    to_python,
)
from caviar.search_spaces.space import Config, Param, Space

if TYPE_CHECKING:
    import optuna


# Ray Tune


def _ray_sampler_class() -> type:
    from ray.tune.search.sample import Sampler, _BackwardsCompatibleNumpyRng

    class WarpedSampler(Sampler):  # type: ignore[misc]
        """Draws uniform points from Ray's random state and maps them through ``from_unit``."""

        def __init__(self, distribution: Distribution) -> None:
            self.distribution = distribution

        def sample(
            self,
            domain: Any,
            config: Any = None,
            size: int = 1,
            random_state: Any = None,
        ) -> Any:
            if not isinstance(random_state, _BackwardsCompatibleNumpyRng):
                random_state = _BackwardsCompatibleNumpyRng(random_state)
            items = self.distribution.from_unit(random_state.random(size))
            return items if size > 1 else domain.cast(items[0])

        def __str__(self) -> str:
            return repr(self.distribution)

    return WarpedSampler


def _warped_domain(dist: Float | Integer) -> Any:
    from ray.tune.search import sample

    domain: Any
    if isinstance(dist, Float):
        domain = sample.Float(dist.low, dist.high)
    else:  # Ray's Integer upper bound is exclusive
        domain = sample.Integer(dist.low, dist.high + 1)  # type: ignore[no-untyped-call]
    domain.set_sampler(_ray_sampler_class()(dist))
    return domain


def _ray_domain(dist: Distribution) -> Any:
    from ray import tune

    if isinstance(dist, Constant):
        return dist.value
    if isinstance(dist, Grid):
        return tune.grid_search(list(dist.values))
    if isinstance(dist, Choice):
        return tune.choice(list(dist.values))
    if isinstance(dist, Float) and dist.step is None and dist.scale == "linear":
        return tune.uniform(dist.low, dist.high)
    if isinstance(dist, Float) and dist.step is None and dist.scale == "log":
        return tune.loguniform(dist.low, dist.high)
    if isinstance(dist, Integer) and dist.step == 1 and not dist.log and dist.base is None:
        return tune.randint(dist.low, dist.high + 1)
    assert isinstance(dist, Float | Integer)
    return _warped_domain(dist)


def _conditional_domain(param: Param) -> Any:
    from ray.tune.search.sample import Function, _BackwardsCompatibleNumpyRng

    dist = param.distribution

    def draw(config: Any, random_state: Any) -> Any:
        for condition in param.when:
            if _resolved_value(config, condition.parent) not in condition.values:
                return None
        if isinstance(dist, Constant):
            return dist.value
        return to_python(dist.from_unit(np.array([random_state.random()]))[0])

    class ConditionalSampler(Function._CallSampler):  # type: ignore[misc, name-defined]
        def sample(
            self, domain: Any, config: Any = None, size: int = 1, random_state: Any = None
        ) -> Any:
            if not isinstance(random_state, _BackwardsCompatibleNumpyRng):
                random_state = _BackwardsCompatibleNumpyRng(random_state)
            configs = config if isinstance(config, list) else [config] * size
            items = [draw(c, random_state) for c in configs[:size]]
            return items if size > 1 else items[0]

        def __str__(self) -> str:
            return f"{dist!r} when {' and '.join(repr(c) for c in param.when)}"

    domain = Function(lambda config: None)
    domain.set_sampler(ConditionalSampler(), allow_override=True)  # type: ignore[no-untyped-call]
    return domain


def _resolved_value(config: Any, name: str) -> Any:
    """A parent's value from the config Ray passes (the spec, or its ``config`` part).

    Attribute access on Ray's guard raises its RecursiveDependencyError while the parent is still
    unresolved, which makes Ray resolve the parent first and call again.
    """
    if config is None:
        return None
    if name not in config and "config" in config and isinstance(config["config"], Mapping):
        config = getattr(config, "config", None) or config["config"]
    if name not in config:
        return None
    try:
        return getattr(config, name)
    except AttributeError:
        return config[name]


def to_ray_tune(space: Space) -> dict[str, Any]:
    """The space as a Ray Tune ``param_space``: one domain (or constant) per parameter.

    Scales and inclusive bounds are kept (see the module docstring); a conditional parameter is
    ``None`` in the trials where its condition is false.
    """
    out: dict[str, Any] = {}
    for name, param in space.params.items():
        if param.when:
            if isinstance(param.distribution, Grid):
                raise ValueError(
                    f"{name}: a conditional grid(...) has no Ray Tune form "
                    "(grid_search cannot depend on another parameter); use choice(...)"
                )
            out[name] = _conditional_domain(param)
        else:
            out[name] = _ray_domain(param.distribution)
    return out


# Optuna


def _optuna_distribution(dist: Distribution) -> optuna.distributions.BaseDistribution | None:
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
        dist = _optuna_distribution(param.distribution)
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


def optuna_distribution(dist: Distribution) -> optuna.distributions.BaseDistribution | None:
    """The Optuna distribution of one caviar distribution (None for a constant)."""
    return _optuna_distribution(dist)


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
        optuna_dist = _optuna_distribution(dist)
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
