"""A caviar Space as Ray Tune search domains (the ``param_space`` of a pbt sweep).

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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from caviar.search_spaces import Choice, Constant, Distribution, Float, Grid, Integer, Param, Space
from caviar.search_spaces.distributions import to_python
from caviar.tune import compat


def _ray_sampler_class() -> type:
    from ray.tune.search.sample import Sampler

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
            random_state = compat.numpy_rng(random_state)
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
    from ray.tune.search.sample import Function

    dist = param.distribution

    def draw(config: Any, random_state: Any) -> Any:
        for condition in param.when:
            if _resolved_value(config, condition.parent) not in condition.values:
                return None
        if isinstance(dist, Constant):
            return dist.value
        return to_python(dist.from_unit(np.array([random_state.random()]))[0])

    class ConditionalSampler(compat.call_sampler()):  # type: ignore[misc]
        def sample(
            self, domain: Any, config: Any = None, size: int = 1, random_state: Any = None
        ) -> Any:
            random_state = compat.numpy_rng(random_state)
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
