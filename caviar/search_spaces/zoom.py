"""Coarse-to-fine: a narrower space around the best trials of a coarse sweep.

The zoom happens in each distribution's warped unit interval (``to_unit``/``from_unit``): the
range spanned by the top trials is widened by ``margin`` (a fraction of the whole unit interval) on
each side and mapped back, so a learning rate zooms to new log-uniform bounds and a momentum to new
reverse-log bounds. The new bounds never leave the original ones. Categorical parameters keep the
values that appear among the top trials; constants are left alone. A conditional parameter whose
parent no longer takes any of its condition values is dropped; its condition keeps the values that
remain.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from caviar.search_spaces.distributions import (
    Choice,
    Constant,
    Distribution,
    Float,
    Integer,
    to_python,
)
from caviar.search_spaces.space import Condition, Param, Space

if TYPE_CHECKING:
    import pandas as pd


def _records(trials: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    import pandas as pd

    if isinstance(trials, pd.DataFrame):
        return [{str(k): v for k, v in row.items()} for row in trials.to_dict("records")]
    return [dict(t) for t in trials]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def top_trials(
    trials: pd.DataFrame | Iterable[Mapping[str, Any]],
    metric: str,
    mode: Literal["min", "max"],
    top_k: int,
) -> list[dict[str, Any]]:
    """The ``top_k`` best trials by ``metric`` (trials without a value are skipped)."""
    if mode not in ("min", "max"):
        raise ValueError(f"zoom: mode must be 'min' or 'max', got {mode!r}")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"zoom: top_k must be an integer >= 1, got {top_k!r}")
    rows = _records(trials)
    scored = [r for r in rows if not _missing(r.get(metric))]
    if not scored:
        raise ValueError(f"zoom: no trial has a value for metric {metric!r} ({len(rows)} trials)")
    scored.sort(key=lambda r: float(r[metric]), reverse=mode == "max")
    return scored[:top_k]


def zoom(
    space: Space,
    trials: pd.DataFrame | Iterable[Mapping[str, Any]],
    metric: str,
    mode: Literal["min", "max"],
    top_k: int = 5,
    margin: float = 0.1,
) -> Space:
    """A narrower Space around the ``top_k`` best trials (config keys + ``metric`` per trial).

    ``margin``: how far beyond the best trials' range to extend, as a fraction of the original
    warped unit interval (0.1 = a tenth of the decades of a loguniform), in [0, 1].
    """
    if isinstance(margin, bool) or not isinstance(margin, int | float) or not 0 <= margin <= 1:
        raise ValueError(f"zoom: margin must be a number in [0, 1], got {margin!r}")
    best = top_trials(trials, metric, mode, top_k)
    params: dict[str, Param] = {}
    for name, param in space.params.items():
        dist = param.distribution
        values = [_plain(dist, r[name]) for r in best if name in r and not _missing(r[name])]
        when = []
        for condition in param.when:
            parent = params.get(condition.parent)
            if parent is None:
                break
            kept = tuple(v for v in condition.values if parent.distribution.contains(v))
            if not kept:
                break
            when.append(Condition(condition.parent, kept))
        else:
            params[name] = Param(_zoom_one(name, dist, values, margin), tuple(when))
    return Space(params)


def _plain(dist: Distribution, value: Any) -> Any:
    """A table cell as the value the distribution holds (an int column with nulls reads as float)."""
    value = to_python(value)
    if dist.value_type == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _zoom_one(name: str, dist: Distribution, values: list[Any], margin: float) -> Distribution:
    if isinstance(dist, Constant) or not values:
        return dist
    for value in values:
        if not dist.contains(value):
            raise ValueError(f"zoom: {name}: trial value {value!r} is outside {dist!r}")
    if isinstance(dist, Choice):
        return type(dist)(tuple(v for v in dist.values if v in values))
    assert isinstance(dist, Float | Integer)
    unit = dist.to_unit(np.asarray(values, dtype=float))
    lo_u, hi_u = max(0.0, float(unit.min()) - margin), min(1.0, float(unit.max()) + margin)
    lo, hi = dist.from_unit(np.array([lo_u, hi_u]))
    if isinstance(dist, Float):  # the original bounds exactly where the zoom reaches them
        low = dist.low if lo_u == 0 else min(max(float(lo), dist.low), min(values))
        high = dist.high if hi_u == 1 else max(min(float(hi), dist.high), max(values))
        return Float(float(low), float(high), dist.scale, dist.step)
    low_i = min(max(int(lo), dist.low), min(values))
    high_i = max(min(int(hi), dist.high), max(values))
    return Integer(int(low_i), int(high_i), dist.step, dist.log, dist.base)
