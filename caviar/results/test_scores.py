"""Test scores in trials.parquet: which trials are scored, and the ``test_<metric>`` columns.

The test set never feeds selection: the sweep picks its trials on validation metrics, and only then
are the selected ones scored on the test set (``caviar.tune.test_scores`` does the scoring, from
their checkpoints). Selected are the best trial by the sweep's objective (the Pareto front of a
multi-objective sweep) and every confirmation trial (``confirm_of`` set).

The scores land in trials.parquet as ``test_<metric>`` columns (``test_loss``, ``test_accuracy``),
set for the scored trials and null for every other one, by one atomic replacement of the file
(``SweepStore.write_trials``). A resumed writer carries them over like any other column
(``TrialRecord.from_row``); a trial that reports again (``caviar continue``) trains on, so its old
scores are dropped (``TrialRecord.report``) and the next scoring pass scores it again.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from caviar.objective import Objective
from caviar.results.schema import PARETO, TEST_PREFIX, best_column
from caviar.results.status import ENDED, STOPPED
from caviar.results.store import SweepStore

log = logging.getLogger(__name__)

CONFIRM_COLUMN = "confirm_of"
Scores = Mapping[str, Mapping[str, float]]


def is_test_column(name: str) -> bool:
    """Whether ``name`` is a test-score column caviar writes (``test_accuracy``)."""
    return name.startswith(TEST_PREFIX)


def sweep_ended(trials: pa.Table) -> bool:
    """Whether every trial of the table ended (none RUNNING or PENDING: nothing left to resume)."""
    return all(status in (*ENDED, STOPPED) for status in trials["status"].to_pylist())


def selected_trials(trials: pa.Table, objectives: Sequence[Objective]) -> list[str]:
    """The trial ids the test set is scored on: the best by the objective (the Pareto front when
    there are several objectives), then the confirmation trials, each once."""
    rows = trials.to_pylist()
    chosen: list[str] = []
    if len(objectives) > 1:
        chosen = [row["trial_id"] for row in rows if row.get(PARETO)]
    elif objectives:
        best = _best(rows, objectives[0])
        chosen = [] if best is None else [best]
    for row in rows:
        if row.get(CONFIRM_COLUMN) is not None and row["trial_id"] not in chosen:
            chosen.append(row["trial_id"])
    return chosen


def _best(rows: Sequence[Mapping[str, Any]], objective: Objective) -> str | None:
    """The trial with the best ``best_<metric>`` (the first by trial id among equals)."""
    column = best_column(objective.metric)
    best_id, best_value = None, None
    for row in sorted(rows, key=lambda r: str(r["trial_id"])):
        value = row.get(column)
        if isinstance(value, int | float) and objective.better(float(value), best_value):
            best_id, best_value = row["trial_id"], float(value)
    return best_id


def stored_scores(trials: pa.Table) -> dict[str, dict[str, float]]:
    """The test scores already in the table, by trial id (trials without any left out)."""
    names = [name for name in trials.column_names if is_test_column(name)]
    found: dict[str, dict[str, float]] = {}
    if not names:
        return found
    for row in trials.select(["trial_id", *names]).to_pylist():
        scores = {n: float(row[n]) for n in names if _present(row[n])}
        if scores:
            found[row["trial_id"]] = scores
    return found


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def with_scores(trials: pa.Table, scores: Scores) -> pa.Table:
    """``trials`` with its ``test_*`` columns replaced: ``scores`` for those trials, null for the
    rest (no test columns at all when ``scores`` is empty). Schema metadata is kept."""
    kept = trials.drop_columns([n for n in trials.column_names if is_test_column(n)])
    names = sorted({name for values in scores.values() for name in values})
    ids = kept["trial_id"].to_pylist()
    for name in names:
        column = [scores.get(trial_id, {}).get(name) for trial_id in ids]
        kept = kept.append_column(pa.field(name, pa.float64()), pa.array(column, pa.float64()))
    return kept.replace_schema_metadata(trials.schema.metadata)


def write_scores(store: SweepStore, trials: pa.Table, scores: Scores) -> None:
    """Replace trials.parquet, atomically, with ``trials`` carrying exactly these test scores."""
    store.write_trials(with_scores(trials, scores))
    log.info("test scores written for %d trials", len(scores))
