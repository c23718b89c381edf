"""A damaged trials.parquet: set it aside in quarantine/ and rebuild what the curves still know.

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

import pyarrow as pa
import pyarrow.compute as pc

from caviar.results.store import KEY, TRIALS_FILE, SweepStore

log = logging.getLogger(__name__)


def load_trials(store: SweepStore, metric: str, sign: float) -> pa.Table | None:
    """trials.parquet; rebuilt from the curves (the damaged file quarantined) if it cannot be read."""
    if not store.exists(TRIALS_FILE):
        return None
    table = store.read_trials()  # None, with a warning, if it cannot be read
    if table is not None or not store.exists(TRIALS_FILE):
        return table
    moved = store.quarantine(store.path(TRIALS_FILE))
    rebuilt = trials_from_curves(store, metric, sign)
    log.warning(
        "%s could not be read: moved to %s and rebuilt from the curves (%d trials)",
        store.path(TRIALS_FILE),
        moved,
        rebuilt.num_rows,
    )
    return rebuilt


def trials_from_curves(store: SweepStore, metric: str, sign: float) -> pa.Table:
    """One row per trial in the curves: status RUNNING, iterations, last metrics, best metric."""
    curves = store.read_curves()
    rows: dict[str, dict[str, object]] = {}
    metrics = [n for n in curves.column_names if n not in (*KEY, "time_total_s")]
    if curves.num_rows:
        curves = curves.sort_by([("trial_id", "ascending"), ("iteration", "ascending")])
    columns = {name: curves[name].to_pylist() for name in curves.column_names}
    for index, trial_id in enumerate(columns.get("trial_id", [])):
        row = rows.setdefault(
            trial_id,
            {"trial_id": trial_id, "status": "RUNNING", f"best_{metric}": None},
        )
        row["iterations"] = columns["iteration"][index]
        for name in metrics:
            value = columns[name][index]
            if value is not None:
                row[name] = value
        value = columns[metric][index] if metric in columns else None
        if isinstance(value, int | float) and math.isfinite(value):
            best = row[f"best_{metric}"]
            if best is None or sign * value < sign * float(best):  # type: ignore[arg-type]
                row[f"best_{metric}"] = float(value)
    if not rows:
        return pa.table(
            {"trial_id": pa.array([], pa.string()), "status": pa.array([], pa.string())}
        )
    table = pa.Table.from_pylist(list(rows.values()))
    if f"best_{metric}" in table.column_names:
        index = table.column_names.index(f"best_{metric}")
        table = table.set_column(
            index, f"best_{metric}", pc.cast(table[f"best_{metric}"], pa.float64())
        )
    return table
