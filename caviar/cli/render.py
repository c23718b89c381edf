"""What the ``caviar`` command shows a person: rich tables of the best trials, notes on stderr.

Library code logs; only the command decides what is printed, and it is all here or in the
commands themselves.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from caviar.analysis.sweep import StoredSpec, reading
from caviar.objective import Objective
from caviar.results.schema import TEST_PREFIX

if TYPE_CHECKING:
    import pandas as pd

    from caviar.tune.run import SweepOutcome

# Tables are wide (one column per hyperparameter): when the output is not a terminal, rich would
# wrap them at 80 columns, so it gets 160.
out = Console(width=None if sys.stdout.isatty() else 160)


def note(message: str) -> None:
    """A ``caviar:`` line on stderr (warnings, hints, what a person must know beside the output)."""
    print(f"caviar: {message}", file=sys.stderr, flush=True)


def summarize_stored(stored: StoredSpec, top: int = 5) -> None:
    """``summarize`` of a sweep from the spec stored with it."""
    summarize(stored.uri, stored.objective, list(stored.space.searched), top)


def summarize(sweep_uri: str, objective: Objective, params: Sequence[str], top: int = 5) -> None:
    """The best ``top`` trials with their searched ``params``, the Pareto front, confirmations,
    and where the Parquet files are."""
    from caviar.results.readers import read_trials

    with reading(sweep_uri):
        trials = read_trials(sweep_uri)
    best_column = f"best_{objective.metric}"
    if len(trials) == 0 or best_column not in trials:
        out.print("caviar: no results were reported")
        return
    ranked = trials.sort_values(best_column, ascending=objective.ascending, na_position="last")
    # The held-out test set's scores, where the sweep scored its selected trials on it.
    tested = [c for c in trials.columns if c.startswith(TEST_PREFIX) and trials[c].notna().any()]
    columns = ["trial_id", best_column, *tested, *[p for p in params if p in trials.columns]]
    columns.append("iterations")
    title = f"best {min(top, len(ranked))} of {len(trials)} trials by {objective.metric} ({objective.mode})"
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for _, row in ranked.head(top).iterrows():
        table.add_row(*(cell(row[c]) for c in columns))
    out.print(table)
    if "pareto" in trials:  # a multi-objective sweep
        front = trials[trials["pareto"].fillna(False).astype(bool)]
        out.print(f"{len(front)} trials on the Pareto front: {', '.join(front['trial_id'])}")
    print_confirmations(trials, objective)
    print_test_scores(trials, ranked.head(top), tested)
    stopped = int(trials["stopped_early"].fillna(False).sum()) if "stopped_early" in trials else 0
    uri = sweep_uri.rstrip("/")
    out.print(
        f"{len(trials)} trials, {stopped} stopped early. Results (Parquet):\n"
        f"  trials: {uri}/trials.parquet\n"
        f"  curves: {uri}/curves/\n"
        f"  in Python: caviar.read_trials({sweep_uri!r}), caviar.read_curves({sweep_uri!r})"
    )


def print_confirmations(trials: pd.DataFrame, objective: Objective) -> None:
    """The winners re-trained with fresh seeds (``confirm:``): mean and spread per config."""
    from caviar.analysis.confirm import summarize_confirmations

    summary = summarize_confirmations(trials, objective.metric, objective.mode)
    if summary.empty:
        return
    table = Table(title=f"confirmed with fresh seeds: best_{objective.metric}")
    for column in summary.columns:
        table.add_column(column)
    for _, row in summary.iterrows():
        table.add_row(*(cell(row[c]) for c in summary.columns))
    out.print(table)


def print_test_scores(trials: pd.DataFrame, shown: pd.DataFrame, tested: Sequence[str]) -> None:
    """The scored trials the best-trials table left out (confirmations further down the ranks)."""
    if not tested:
        return
    scored = trials[trials[list(tested)].notna().any(axis=1)]
    rest = scored[~scored["trial_id"].isin(shown["trial_id"])]
    if rest.empty:
        return
    table = Table(title="test set scores of the other selected trials")
    for column in ["trial_id", *tested]:
        table.add_column(column)
    for _, row in rest.iterrows():
        table.add_row(*(cell(row[c]) for c in ["trial_id", *tested]))
    out.print(table)


def best_text(trials: pd.DataFrame, objective: Objective) -> str:
    """``metric value`` of the sweep's best trial, or ``-`` before any reported it."""
    column = f"best_{objective.metric}"
    best = objective.best(trials[column].dropna().astype(float)) if column in trials else None
    return "-" if best is None else f"{objective.metric} {best:.4g}"


def cell(value: object) -> str:
    """A table cell: numbers to 4 significant digits, missing values as ``-``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return "-" if text in ("<NA>", "nan") else text


def exit_for(outcome: SweepOutcome) -> None:
    """Exit as the sweep ended: interrupted 130, every trial failed 1; some failed: a note."""
    import typer

    from caviar.cli.exits import EXIT_FAILED, EXIT_INTERRUPTED

    if outcome.interrupted:
        note(f"sweep interrupted; continue it with `caviar resume {outcome.sweep_uri}`")
        raise typer.Exit(EXIT_INTERRUPTED)
    if outcome.trials and outcome.errors == outcome.trials:
        note(f"every trial failed; see the error column of {outcome.sweep_uri}/trials.parquet")
        raise typer.Exit(EXIT_FAILED)
    if outcome.errors:
        note(f"{outcome.errors} of {outcome.trials} trials failed (error column in trials.parquet)")
