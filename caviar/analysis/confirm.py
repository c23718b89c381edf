"""Confirmation of the winners: each re-trained config's mean and spread over fresh seeds.

A sweep with ``confirm: {top_k: 5, seeds: 3}`` ends with ``top_k * seeds`` extra trials, each a
copy of one of the best search trials with a new ``seed`` and ``confirm_of`` naming the original.
A config that won by seed luck shows it here: its fresh-seed mean falls behind, or its spread is
as large as the gaps between configs.
"""

from __future__ import annotations

import pandas as pd

from caviar.analysis.ranking import check_mode
from caviar.objective import Objective

CONFIRM_COLUMN = "confirm_of"


def summarize_confirmations(trials: pd.DataFrame, metric: str, mode: str) -> pd.DataFrame:
    """One row per confirmed config, best first by its fresh-seed mean of ``best_<metric>``.

    Columns: ``confirm_of`` (the original trial), ``search`` (its value in the search, picked as a
    winner, so optimistic), ``mean``, ``std`` (sample standard deviation, NaN for one seed),
    ``min``, ``max`` and ``n`` over the confirmation runs. Empty if the sweep confirmed nothing.
    """
    objective = Objective(metric, check_mode(mode))
    column = f"best_{metric}"
    columns = [CONFIRM_COLUMN, "search", "mean", "std", "min", "max", "n"]
    if CONFIRM_COLUMN not in trials or column not in trials:
        return pd.DataFrame(columns=columns)
    runs = trials[trials[CONFIRM_COLUMN].notna()]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    values = runs[column].astype(float)
    stats = values.groupby(runs[CONFIRM_COLUMN]).agg(["mean", "std", "min", "max", "count"])
    stats = stats.rename(columns={"count": "n"})
    search = trials.set_index("trial_id")[column].astype(float)
    stats.insert(0, "search", search.reindex(stats.index).to_numpy())
    stats = stats.sort_values("mean", ascending=objective.ascending)
    stats.index.name = CONFIRM_COLUMN
    return stats.reset_index()[columns]


def read_confirmations(path: str) -> pd.DataFrame:
    """``summarize_confirmations`` of the sweep at ``path``, with its own metric and mode."""
    from caviar.analysis.sweep import read_spec, reading
    from caviar.results.readers import read_trials

    objective = read_spec(path).objective
    with reading(path):
        trials = read_trials(path)
    return summarize_confirmations(trials, objective.metric, objective.mode)
