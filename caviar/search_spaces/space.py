"""A search space: named distributions, some of them conditional on another parameter's value.

A conditional parameter exists only when its parent took one of the listed values (momentum only for
sgd, betas only for adam); in other trials it is absent from the config and null in Parquet.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from caviar.search_spaces.distributions import (
    Choice,
    Constant,
    Distribution,
    Grid,
    RNGLike,
    Scalar,
    as_generator,
    to_python,
)
from caviar.search_spaces.parsing import parse_value

Config = dict[str, Scalar]


@dataclass(frozen=True)
class Condition:
    """The parameter exists only when ``parent`` takes one of ``values``."""

    parent: str
    values: tuple[Scalar, ...]

    def holds(self, config: Mapping[str, Any]) -> bool:
        return self.parent in config and config[self.parent] in self.values

    def __repr__(self) -> str:
        return f"{self.parent} in {list(self.values)!r}"


@dataclass(frozen=True)
class Param:
    """One hyperparameter: its distribution and the conditions under which it exists."""

    distribution: Distribution
    when: tuple[Condition, ...] = ()

    def active(self, config: Mapping[str, Any]) -> bool:
        return all(condition.holds(config) for condition in self.when)


@dataclass(frozen=True)
class Space:
    """Named hyperparameters in dependency order (every parent before its children)."""

    params: Mapping[str, Param] = field(default_factory=dict)

    def __post_init__(self) -> None:
        params = dict(self.params)
        for name, param in params.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"parameter names must be identifiers, got {name!r}")
            for condition in param.when:
                _check_condition(name, condition, params)
        object.__setattr__(self, "params", _dependency_order(params))

    @classmethod
    def from_dict(cls, mapping: Mapping[str, Any]) -> Space:
        """Build from a spec's ``space:``: values are constants, call strings or
        ``{sample: "...", when: {parent: value or [values]}}``. Errors name the parameter."""
        params: dict[str, Param] = {}
        for name, value in mapping.items():
            try:
                params[str(name)] = _param_from_value(value)
            except ValueError as error:
                raise ValueError(f"{name}: {error}") from None
        return cls(params)

    def __iter__(self) -> Iterator[str]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def __getitem__(self, name: str) -> Distribution:
        return self.params[name].distribution

    @property
    def searched(self) -> dict[str, Distribution]:
        """The parameters that vary between trials (everything but constants)."""
        return {
            name: p.distribution
            for name, p in self.params.items()
            if not isinstance(p.distribution, Constant)
        }

    def sample(self, rng: RNGLike = None) -> Config:
        """One config: each active parameter drawn from its distribution."""
        generator = as_generator(rng)
        return self.from_unit({name: generator.random() for name in self.params})

    def from_unit(self, point: Mapping[str, float]) -> Config:
        """The config at a point of the unit cube (one coordinate per parameter)."""
        config: Config = {}
        for name, param in self.params.items():
            if param.active(config):
                value = param.distribution.from_unit(np.array([point.get(name, 0.5)]))[0]
                config[name] = to_python(value)
        return config

    def grid_points(self) -> list[Config]:
        """Every combination of the ``grid(...)`` parameters (one empty point if there are none)."""
        grids = {
            name: p.distribution.values
            for name, p in self.params.items()
            if isinstance(p.distribution, Grid)
        }
        return [
            dict(zip(grids, combo, strict=True)) for combo in itertools.product(*grids.values())
        ]

    def sample_at(self, fixed: Mapping[str, Scalar], rng: RNGLike = None) -> Config:
        """A config with the ``fixed`` values (a grid point) and the rest drawn at random."""
        generator = as_generator(rng)
        config: Config = {}
        for name, param in self.params.items():
            if not param.active(config):
                continue
            if name in fixed:
                config[name] = fixed[name]
            else:
                config[name] = to_python(param.distribution.sample(1, generator)[0])
        return config

    def validate(self, config: Mapping[str, Any]) -> None:
        """Raise ValueError if ``config`` could not have come from this space."""
        for name, param in self.params.items():
            active = param.active(config)
            if active and name not in config:
                raise ValueError(f"{name}: missing from the config")
            if not active and name in config:
                raise ValueError(f"{name}: present although its condition is false")
            if active and not param.distribution.contains(config[name]):
                raise ValueError(f"{name}: {config[name]!r} is outside {param.distribution!r}")
        unknown = set(config) - set(self.params)
        if unknown:
            raise ValueError(f"{sorted(unknown)[0]}: not a parameter of the space")

    def to_dict(self) -> dict[str, Any]:
        """The YAML form, which ``from_dict`` reads back to an equal Space."""
        out: dict[str, Any] = {}
        for name, param in self.params.items():
            dist = param.distribution
            text: Any = dist.value if isinstance(dist, Constant) else repr(dist)
            if param.when:
                out[name] = {
                    "sample": repr(dist),
                    "when": {c.parent: list(c.values) for c in param.when},
                }
            else:
                out[name] = text
        return out


def _param_from_value(value: Any) -> Param:
    if isinstance(value, Mapping) and "when" in value:
        unknown = set(value) - {"sample", "when"}
        if unknown:
            raise ValueError(f"unknown key {sorted(unknown)[0]!r} (expected sample and when)")
        if "sample" not in value:
            raise ValueError("a conditional parameter needs 'sample:' with its distribution")
        when = value["when"]
        if not isinstance(when, Mapping) or not when:
            raise ValueError(f"'when' must map parent parameters to values, got {when!r}")
        conditions = []
        for parent, allowed in when.items():
            allowed_values = tuple(allowed) if isinstance(allowed, list | tuple) else (allowed,)
            if not allowed_values:
                raise ValueError(f"when.{parent}: needs at least one value")
            conditions.append(Condition(str(parent), allowed_values))
        return Param(parse_value(value["sample"]), tuple(conditions))
    return Param(parse_value(value))


def _check_condition(name: str, condition: Condition, params: Mapping[str, Param]) -> None:
    parent = params.get(condition.parent)
    if parent is None:
        raise ValueError(f"{name}: condition on unknown parameter {condition.parent!r}")
    if condition.parent == name:
        raise ValueError(f"{name}: a parameter cannot depend on itself")
    dist = parent.distribution
    if not isinstance(dist, Choice | Constant):
        raise ValueError(
            f"{name}: condition parent {condition.parent!r} must be a choice, grid or constant, "
            f"got {dist!r}"
        )
    for value in condition.values:
        if not dist.contains(value):
            raise ValueError(
                f"{name}: condition value {value!r} is not a value of {condition.parent} ({dist!r})"
            )


MAX_CONDITION_DEPTH = 32  # parents of parents of ...: real spaces nest two or three deep


def _dependency_order(params: dict[str, Param]) -> dict[str, Param]:
    """Every parent before its children, found without recursion; cycles and chains deeper
    than MAX_CONDITION_DEPTH are errors."""
    ordered: dict[str, Param] = {}
    depth: dict[str, int] = {}
    for start in params:
        if start in ordered:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, bool]] = [(start, False)]
        while stack:
            name, leaving = stack.pop()
            if leaving:
                path.pop()
                on_path.discard(name)
                parents = [c.parent for c in params[name].when]
                depth[name] = 1 + max((depth[p] for p in parents), default=0)
                if depth[name] > MAX_CONDITION_DEPTH:
                    raise ValueError(
                        f"{name}: conditions nest more than {MAX_CONDITION_DEPTH} deep "
                        "(a parent's parent's ...); flatten them"
                    )
                ordered[name] = params[name]
                continue
            if name in ordered:
                continue
            if name in on_path:
                raise ValueError(f"{name}: conditions form a cycle")
            path.append(name)
            on_path.add(name)
            stack.append((name, True))
            stack.extend((c.parent, False) for c in reversed(params[name].when))
    return ordered
