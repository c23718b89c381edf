"""Which trials are best: the column that ranks them and the order, for a metric and a mode."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from caviar.search_spaces import Space

Mode = Literal["min", "max"]


def metric_column(trials: pd.DataFrame, metric: str) -> str:
    """The trials column that ranks trials: ``best_<metric>``, else the last ``<metric>``."""
    for column in (f"best_{metric}", metric):
        if column in trials:
            return column
    raise ValueError(f"metric: no column best_{metric} or {metric} in the trials table")


def ranked(trials: pd.DataFrame, metric: str, mode: Mode = "min") -> pd.DataFrame:
    """Trials with a value of the metric, best first."""
    column = metric_column(trials, metric)
    scored = trials[pd.to_numeric(trials[column], errors="coerce").notna()]
    return scored.sort_values(column, ascending=(mode == "min"), kind="stable")


def check_mode(mode: str) -> Mode:
    """``mode`` as a Mode, or a ValueError naming it."""
    if mode not in ("min", "max"):
        raise ValueError(f"mode: must be 'min' or 'max', got {mode!r}")
    return mode  # type: ignore[return-value]


def searched_params(trials_df: pd.DataFrame, space: Space | None) -> list[str]:
    """The searched hyperparameters that have a column; none without a space (never guessed)."""
    if space is None:
        return []
    return [n for n in space.searched if n in trials_df]
