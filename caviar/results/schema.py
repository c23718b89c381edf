"""The columns caviar writes itself, once: the curves' and the trials table's, with their types.

Every other module (the writer, the rebuild from curves, the reserved names a metric may not take,
the tracker replay) takes its column names from here, so the tables cannot drift apart.

Schema versions (``caviar.schema_version`` in every Parquet footer):

- 1: the first layout.
- 2: every curves row carries ``timestamp``, the wall-clock time (UTC) at which the trial reported
  it. Parts of version 1 read as before, with ``timestamp`` null.
"""

from __future__ import annotations

import json

import pyarrow as pa

from caviar.errors import UnreadableResults
from caviar.results.tables import TIMESTAMP

SCHEMA_VERSION = 2
VERSION_KEY = b"caviar.schema_version"
# Each curves row is one (trial_id, iteration); the later part wins for a key.
KEY = ("trial_id", "iteration")
# A curves row with this column true is a tombstone: the (trial_id, iteration) it names was
# superseded (the trial restarted from an earlier iteration and did not report it again). Like any
# row, the latest part wins; readers and compaction then drop tombstones.
SUPERSEDED = "__superseded"

# The curves columns caviar writes beside the reported metrics, in file order.
CURVE_COLUMNS: dict[str, pa.DataType] = {
    "trial_id": pa.string(),
    "iteration": pa.int64(),
    "time_total_s": pa.float64(),
    "timestamp": TIMESTAMP,
}
# Curve columns that are not metrics (a trial's last values come from the others).
CURVE_KEYS = frozenset({*CURVE_COLUMNS, SUPERSEDED})

# The trials table: these two first, then the parameters, then the sweep's own columns where the
# orchestrator added them, then ``best_<metric>`` and the bookkeeping.
TRIAL_HEAD: dict[str, pa.DataType] = {"trial_id": pa.string(), "status": pa.string()}
# Config keys the orchestrator adds to some sweeps' trials (coarse-to-fine round, confirmation of
# which trial), with their column types.
SWEEP_COLUMNS: dict[str, pa.DataType] = {"round": pa.int64(), "confirm_of": pa.string()}
TRIAL_BOOKKEEPING: dict[str, pa.DataType] = {
    "iterations": pa.int64(),
    "stopped_early": pa.bool_(),
    "error": pa.string(),
    "node_ip": pa.string(),
    "node_id": pa.string(),
    "started_at": TIMESTAMP,
    "ended_at": TIMESTAMP,
}
# Multi-objective sweeps: whether the trial is on the Pareto front of the objectives.
PARETO = "pareto"
BEST_PREFIX = "best_"
# The test-set scores of the selected trials (``test_accuracy``), written after the sweep
# (``caviar.results.test_scores``); never a reported metric, so never used for selection.
TEST_PREFIX = "test_"

# Every column name caviar writes itself (``best_*`` and ``test_*`` too, see ``columns.is_reserved``).
OWN_COLUMNS = frozenset({*CURVE_COLUMNS, *TRIAL_HEAD, *SWEEP_COLUMNS, *TRIAL_BOOKKEEPING, PARETO})


def best_column(metric: str) -> str:
    """The trials-table column of a trial's best value of ``metric``."""
    return f"{BEST_PREFIX}{metric}"


def trial_columns(
    metric: str,
    params: dict[str, pa.DataType],
    sweep_columns: frozenset[str] = frozenset(),
    pareto: bool = False,
) -> dict[str, pa.DataType]:
    """The fixed columns of trials.parquet, in order, with their types.

    ``params``: the parameter columns (their types from the space); ``sweep_columns``: which of
    ``SWEEP_COLUMNS`` the sweep's trials carry; ``pareto``: a multi-objective sweep.
    """
    fixed = dict(TRIAL_HEAD)
    fixed.update(params)
    fixed.setdefault("seed", pa.int64())
    for key, dtype in SWEEP_COLUMNS.items():
        if key in sweep_columns:
            fixed.setdefault(key, dtype)
    fixed[best_column(metric)] = pa.float64()
    fixed.update(TRIAL_BOOKKEEPING)
    if pareto:
        fixed[PARETO] = pa.bool_()
    return fixed


def check_schema_version(schema: pa.Schema, path: str) -> None:
    """Refuse files written by a newer caviar whose layout this one does not know: not bad input
    but results this caviar cannot read (UnreadableResults: one line, exit 1)."""
    metadata = schema.metadata or {}
    try:
        version = int(metadata.get(VERSION_KEY, b"1"))
    except ValueError:
        raise UnreadableResults(
            f"{path}: results schema version {metadata[VERSION_KEY]!r} is not a number"
        ) from None
    if version > SCHEMA_VERSION:
        raise UnreadableResults(
            f"{path}: results schema version {version}, this caviar reads up to "
            f"{SCHEMA_VERSION}: upgrade caviar-sweep"
        )


def spec_metadata(spec_yaml: str, version: str) -> dict[bytes, bytes]:
    """Key-value metadata every caviar Parquet file carries."""
    return {
        b"caviar.spec": spec_yaml.encode(),
        b"caviar.version": version.encode(),
        b"caviar.schema": json.dumps({"key": list(KEY)}).encode(),
    }
