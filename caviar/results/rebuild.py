"""What a (re)started writer knows from storage, and a damaged trials.parquet rebuilt from the curves.

``stored_state`` is the writer's start, fresh or resumed: the tuner restores its callbacks from the
pickle it made when the sweep started, so nothing learned while running may live only in memory.
From storage come the next part number, each trial's highest stored iteration, the column types
and the trials table.

A damaged trials.parquet: set it aside in quarantine/ and rebuild what the curves still know.

trials.parquet is rewritten whole at every flush, so a damaged one (a disk error, a hand edit, a
copy cut short) would otherwise be skipped on resume and rewritten with only the trials that report
again: best, iterations and metrics of every finished trial lost, while their curves survive. The
curves hold every reported row, so the rebuilt table has, per trial: ``iterations``, the last value
of every metric and ``best_<metric>``. Its status is RUNNING until the resumed sweep's end sets it
from Ray Tune's own record of each trial, which fills the parameters (``config``) back in too.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from caviar.objective import Objective
from caviar.results.schema import CURVE_COLUMNS, CURVE_KEYS, TRIAL_HEAD, best_column
from caviar.results.status import TrialRecord
from caviar.results.store import TRIALS_FILE, SweepStore

log = logging.getLogger(__name__)


@dataclass
class StoredState:
    """What is on storage when a writer starts (all empty on a fresh sweep)."""

    sequence: int = 0
    parts: int = 0
    # Each trial's highest iteration on storage: a report at or below it is a restart.
    top: dict[str, int] = field(default_factory=dict)
    curve_types: dict[str, pa.DataType] = field(default_factory=dict)
    trial_types: dict[str, pa.DataType] = field(default_factory=dict)
    records: dict[str, TrialRecord] = field(default_factory=dict)
    # Whether some trial already reported the sweep's metric (see ``columns.missing_metric``).
    metric_seen: bool = False


def stored_state(
    store: SweepStore, objective: Objective, params: Mapping[str, pa.DataType]
) -> StoredState:
    """Continue from what is on storage: parts, top iterations, column types, trial records."""
    parts = store.curve_parts()
    state = StoredState(sequence=parts[-1][0] + 1 if parts else 0, parts=len(parts))
    stored = store.read_curves(columns=[])
    if stored.num_rows:
        tops = stored.group_by("trial_id", use_threads=False).aggregate([("iteration", "max")])
        state.top = dict(
            zip(tops["trial_id"].to_pylist(), tops["iteration_max"].to_pylist(), strict=True)
        )
    schema = store.curve_schema()
    if schema is not None:
        state.curve_types = {f.name: f.type for f in schema if f.name not in CURVE_COLUMNS}
    table = load_trials(store, objective)  # rebuilt if damaged
    if table is None:
        return state
    fixed_types = {*TRIAL_HEAD, *params}
    state.trial_types = {f.name: f.type for f in table.schema if f.name not in fixed_types}
    for row in table.to_pylist():
        record = TrialRecord.from_row(row, params, objective.metric)
        state.metric_seen = state.metric_seen or record.best is not None
        state.records[record.trial_id] = record
    return state


def load_trials(store: SweepStore, objective: Objective) -> pa.Table | None:
    """trials.parquet; rebuilt from the curves (the damaged file quarantined) if it cannot be read."""
    if not store.exists(TRIALS_FILE):
        return None
    table = store.read_trials()  # None, with a warning, if it cannot be read
    if table is not None or not store.exists(TRIALS_FILE):
        return table
    moved = store.quarantine(store.path(TRIALS_FILE))
    rebuilt = trials_from_curves(store, objective)
    log.warning(
        "%s could not be read: moved to %s and rebuilt from the curves (%d trials)",
        store.path(TRIALS_FILE),
        moved,
        rebuilt.num_rows,
    )
    return rebuilt


def trials_from_curves(store: SweepStore, objective: Objective) -> pa.Table:
    """One row per trial in the curves: status RUNNING, iterations, last metrics, best metric."""
    metric, best = objective.metric, best_column(objective.metric)
    curves = store.read_curves()
    rows: dict[str, dict[str, object]] = {}
    metrics = [n for n in curves.column_names if n not in CURVE_KEYS]
    if curves.num_rows:
        curves = curves.sort_by([("trial_id", "ascending"), ("iteration", "ascending")])
    columns = {name: curves[name].to_pylist() for name in curves.column_names}
    for index, trial_id in enumerate(columns.get("trial_id", [])):
        row = rows.setdefault(
            trial_id,
            {"trial_id": trial_id, "status": "RUNNING", best: None},
        )
        row["iterations"] = columns["iteration"][index]
        for name in metrics:
            value = columns[name][index]
            if value is not None:
                row[name] = value
        value = columns[metric][index] if metric in columns else None
        before = row[best]
        if (
            isinstance(value, int | float)
            and math.isfinite(value)
            and objective.better(float(value), None if before is None else float(before))  # type: ignore[arg-type]
        ):
            row[best] = float(value)
    if not rows:
        return pa.table(
            {"trial_id": pa.array([], pa.string()), "status": pa.array([], pa.string())}
        )
    table = pa.Table.from_pylist(list(rows.values()))
    if best in table.column_names:
        index = table.column_names.index(best)
        table = table.set_column(index, best, pc.cast(table[best], pa.float64()))
    return table
