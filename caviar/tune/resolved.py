"""Ray Tune's defaults of the scheduler options caviar accepts, read from Ray's own signatures.

The spec package resolves a spec without importing Ray (``caviar.spec.resolved``); this module
hands it Ray's defaults, so that sweep.yaml records what the scheduler really uses and cannot
drift from it on a Ray upgrade.
"""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any

import yaml

from caviar.spec import resolved as spec_resolved
from caviar.spec.fields import Kind
from caviar.spec.model import SCHEDULERS, SweepSpec, option_kinds


@cache
def _ray_classes() -> dict[str, type]:
    from ray.tune.schedulers import (
        AsyncHyperBandScheduler,
        HyperBandScheduler,
        MedianStoppingRule,
        PopulationBasedTraining,
    )

    return {
        "asha": AsyncHyperBandScheduler,
        "hyperband": HyperBandScheduler,
        "median": MedianStoppingRule,
        "pbt": PopulationBasedTraining,
    }


def ray_defaults(name: str) -> dict[str, Any]:
    """Ray Tune's default for each option caviar accepts for scheduler ``name``."""
    classes = _ray_classes()
    if name not in classes or name not in SCHEDULERS:
        return {}
    parameters = inspect.signature(classes[name]).parameters
    found: dict[str, Any] = {}
    for key, kind in option_kinds(SCHEDULERS[name]).items():
        parameter = parameters.get(key)
        if parameter is None or parameter.default is inspect.Parameter.empty:
            continue
        found[key] = _as_kind(parameter.default, kind)
    return found


def _as_kind(value: Any, kind: Kind) -> Any:
    """Ray's default in the type the spec checks (``0.0`` for an int option becomes ``0``)."""
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def resolve_scheduler(value: Any, max_t: int | None = None) -> dict[str, Any]:
    """A raw ``scheduler:`` value with every option filled in, Ray's defaults included."""
    return spec_resolved.resolve_scheduler(value, max_t, ray_defaults)


def resolved(spec: SweepSpec) -> dict[str, Any]:
    """The spec as a plain mapping with nothing left implicit, Ray's defaults included."""
    return spec_resolved.resolved(spec, ray_defaults)


def spec_yaml(spec: SweepSpec) -> str:
    """The resolved spec as YAML: what sweep.yaml holds (``caviar.spec.load_spec`` reads it)."""
    return yaml.safe_dump(resolved(spec), sort_keys=False)
