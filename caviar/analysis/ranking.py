"""Which trials are best: the column that ranks them and the order, for a metric and a mode.

The order comes from ``caviar.objective.Objective`` (the one place "better" is decided).
"""

from __future__ import annotations

import pandas as pd

from caviar.objective import MODES, Mode, Objective, as_mode
from caviar.search_spaces import Space

__all__ = ["Mode", "check_mode", "has_scores", "metric_column", "ranked", "searched_params"]


def metric_column(trials: pd.DataFrame, metric: str) -> str:
    """The trials column that ranks trials: ``best_<metric>``, else the last ``<metric>``."""
    for column in (f"best_{metric}", metric):
        if column in trials:
            return column
    raise ValueError(f"metric: no column best_{metric} or {metric} in the trials table")


def ranked(trials: pd.DataFrame, metric: str, mode: Mode = "min") -> pd.DataFrame:
    """Trials with a value of the metric, best first."""
    objective = Objective(metric, check_mode(mode))
    column = metric_column(trials, metric)
    scored = trials[pd.to_numeric(trials[column], errors="coerce").notna()]
    return scored.sort_values(column, ascending=objective.ascending, kind="stable")


def check_mode(mode: str) -> Mode:
    """``mode`` as a Mode, or a ValueError naming the key and the value."""
    if mode not in MODES:
        raise ValueError(f"mode: must be 'min' or 'max', got {mode!r}")
    return as_mode(mode)


def has_scores(trials: pd.DataFrame, metric: str) -> bool:
    """True when some trial has a value of ``metric`` to rank by."""
    try:
        column = metric_column(trials, metric)
    except ValueError:
        return False
    return bool(pd.to_numeric(trials[column], errors="coerce").notna().any())


def searched_params(trials_df: pd.DataFrame, space: Space | None) -> list[str]:
    """The searched hyperparameters that have a column; none without a space (never guessed)."""
    if space is None:
        return []
    return [n for n in space.searched if n in trials_df]
