"""The Pareto front of a multi-objective sweep: the trials no other trial dominates.

Trial ``a`` dominates ``b`` when ``a`` is at least as good on every objective and better on one
(each objective better by its own mode). Each objective's value is the trial's last reported one
(its column in trials.parquet); a trial missing one, or with a NaN/inf, is not on the front.
The store writes the ``pareto`` column with this while a sweep runs; ``caviar.analysis.pareto``
draws it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from caviar.objective import Objective, as_mode

PARETO = "pareto"


def non_dominated(values: np.ndarray, modes: Sequence[str]) -> np.ndarray:
    """A bool mask over the rows of ``values`` (trials x objectives): True where none dominates."""
    points = np.asarray(values, dtype=np.float64).reshape(len(values), len(modes))
    signs = np.array([Objective("", as_mode(mode)).sign for mode in modes])
    scaled = points * signs  # every objective to minimize
    finite = np.isfinite(scaled).all(axis=1)
    mask = np.zeros(len(points), dtype=bool)
    candidates = scaled[finite]
    for index in np.flatnonzero(finite):
        point = scaled[index]
        dominated = np.all(candidates <= point, axis=1) & np.any(candidates < point, axis=1)
        mask[index] = not bool(dominated.any())
    return mask


def pareto_flags(
    rows: Sequence[Mapping[str, Any]], objectives: Sequence[tuple[str, str]]
) -> list[bool]:
    """For each trials-table row, whether it is on the front of ``objectives`` (metric, mode)."""
    values = np.array(
        [[_number(row.get(metric)) for metric, _ in objectives] for row in rows], dtype=np.float64
    ).reshape(len(rows), len(objectives))
    return [bool(flag) for flag in non_dominated(values, [mode for _, mode in objectives])]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return float("nan")
    return float(value)
