"""The Ray Tune callback on the driver that lands every reported result in Parquet.

Results are buffered and flushed as one curves part (plus a fresh trials.parquet) when the buffer is
large or old, at the end of the sweep, and whenever Ray Tune snapshots its experiment state. The
last trigger is what makes resume exactly-once: Tune calls ``get_state`` of its callbacks while it
saves the snapshot that a resume restarts from, so every row up to any checkpoint that a resume
can restore is on storage first; rows after it are replayed and the later part wins.

Exactly-once is decided against the rows in the store, not against Tune's snapshot: the callback
knows each trial's highest iteration on storage (read back at every start) or buffered. A result at
or below it means the trial restarted from an earlier iteration (from scratch after a crash with
no checkpoint, a retry from an older checkpoint, PBT's exploit): its rows from that iteration on are
superseded (tombstones, ``store.SUPERSEDED``, in the next part; the later part wins, readers and
compaction drop them), and its best and last values are recomputed from the rows before it. So a
trial's curve is always what its last run reported, contiguous from 1, each iteration once.

Resuming: Ray Tune restores this object from the pickle it made when the sweep started, so nothing
learned while running may live only in it. ``setup`` (called at every start, fresh or resumed)
rebuilds the state from storage: the next part number, the trials table, the column types. At the
end, rows and trials that the restored experiment does not know (trials started after the last
snapshot, whose reruns got new ids) are dropped, so the tables describe exactly the sweep Tune ran.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from ray.tune import Callback
from ray.tune.experiment import Trial

from caviar.errors import SweepFailed
from caviar.results.columns import missing_metric, safe_metric_names
from caviar.results.compaction import BIG_PART_ROWS
from caviar.results.pareto import PARETO, pareto_flags
from caviar.results.rebuild import load_trials
from caviar.results.store import KEY, SUPERSEDED, SweepStore, spec_metadata
from caviar.results.tables import TIMESTAMP, build_table, param_types
from caviar.search_spaces import Space

logger = logging.getLogger(__name__)

# A trial that caviar stopped for a reason of its own (a time limit) carries it in this attribute;
# Tune calls it TERMINATED, the trials table records it as ERROR with that reason.
STOP_REASON = "caviar_stop_reason"
# A trial stopped at a person's request (`caviar trial stop`, the dashboard) carries this one;
# Tune calls it TERMINATED, the trials table records it as STOPPED (stopped early, rows kept).
USER_STOPPED = "caviar_user_stopped"

# Keys Ray Tune adds to every result; everything else in a result is a user metric.
RAY_RESULT_KEYS = frozenset(
    {
        "training_iteration",
        "time_total_s",
        "time_this_iter_s",
        "time_since_restore",
        "iterations_since_restore",
        "timesteps_total",
        "timesteps_since_restore",
        "episodes_total",
        "timestamp",
        "date",
        "pid",
        "hostname",
        "node_ip",
        "node_id",
        "config",
        "checkpoint_dir_name",
        "trial_id",
        "experiment_id",
        "experiment_tag",
        "done",
        "should_checkpoint",
        "__duplicate__",
        "__trial_info__",
    }
)

# Config keys the orchestrator adds to some sweeps' trials (coarse-to-fine round, confirmation of
# which trial), with their column types (other non-parameter columns are float64 metrics).
SWEEP_COLUMNS = {"round": pa.int64(), "confirm_of": pa.string()}


def user_metrics(result: Mapping[str, Any]) -> dict[str, Any]:
    """The metrics the trainable reported, without Ray Tune's bookkeeping keys."""
    return {
        k: v
        for k, v in result.items()
        if k not in RAY_RESULT_KEYS and isinstance(v, bool | int | float | str)
    }


class TrialRecord:
    """What the trials table says about one trial, updated as its results arrive."""

    def __init__(self, trial_id: str, config: Mapping[str, Any]) -> None:
        self.trial_id = trial_id
        self.config = dict(config)
        self.status = "PENDING"
        self.metrics: dict[str, Any] = {}
        self.best: float | None = None
        self.iterations = 0
        self.error: str | None = None
        self.stopped_early = False
        self.node_ip: str | None = None
        self.node_id: str | None = None
        self.started_at: datetime | None = None
        self.ended_at: datetime | None = None

    def row(self, metric: str) -> dict[str, Any]:
        return {
            "trial_id": self.trial_id,
            "status": self.status,
            **self.config,
            **self.metrics,
            f"best_{metric}": self.best,
            "iterations": self.iterations,
            "stopped_early": self.stopped_early,
            "error": self.error,
            "node_ip": self.node_ip,
            "node_id": self.node_id,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
        }


class ParquetResultsCallback(Callback):  # type: ignore[misc]
    """Buffers results on the driver and flushes them to the sweep's Parquet files."""

    def __init__(
        self,
        store: SweepStore,
        space: Space,
        metric: str,
        mode: str,
        spec_yaml: str,
        version: str,
        max_t: int | None = None,
        flush_rows: int = 20_000,
        flush_seconds: float = 10.0,
        compact_parts: int = 32,
        objectives: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.store = store
        # Several (metric, mode): trials.parquet gets a `pareto` column (results/pareto.py).
        self.objectives = tuple(objectives) if len(objectives) > 1 else ()
        self.max_t = max_t
        self.metric = metric
        self.sign = 1.0 if mode == "min" else -1.0
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        # A long sweep flushes every few seconds; past this many parts they are merged while it
        # runs, so the file count stays bounded by time as well as by trials.
        self.compact_parts = compact_parts
        self._metadata = spec_metadata(spec_yaml, version)
        self._param_types = param_types(space)
        self._reset()

    def _reset(self) -> None:
        """Forget everything learned while running; ``_load`` rebuilds it from storage."""
        self._metric_types: dict[str, pa.DataType] = {}
        self._trial_types: dict[str, pa.DataType] = {}
        self._buffer: dict[tuple[str, int], dict[str, Any]] = {}
        self._records: dict[str, TrialRecord] = {}
        # Each trial's highest iteration on storage or in the buffer (see the module docstring).
        self._top: dict[str, int] = {}
        self._started_here: set[str] = set()
        self._ended_here: set[str] = set()
        self._dirty = False
        self._last_flush = time.monotonic()
        self._sequence = 0
        self._parts = 0
        self._unmerged_rows = 0
        self._loaded = False
        self._metric_seen = False
        self._failure: SweepFailed | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its callbacks once, when the sweep starts, and restores them from that
        # pickle on resume: the running state must come from storage then, never from here.
        state = self.__dict__.copy()
        for name in ("_metric_types", "_trial_types", "_buffer", "_records", "_top"):
            state[name] = {}
        state.update(_started_here=set(), _ended_here=set())
        state.update(
            _dirty=False, _sequence=0, _parts=0, _loaded=False, _metric_seen=False, _failure=None
        )
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._last_flush = time.monotonic()

    # Tune hooks

    def setup(self, *args: Any, **info: Any) -> None:
        self._reset()
        self._load()

    def on_trial_start(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._load()
        self._started_here.add(trial.trial_id)
        record = self._record(trial)
        record.status = "RUNNING"
        record.started_at = record.started_at or _now()
        self._dirty = True

    def on_trial_result(
        self, iteration: int, trials: list[Trial], trial: Trial, result: dict[str, Any], **info: Any
    ) -> None:
        self._load()
        step = int(result["training_iteration"])
        reported = user_metrics(result)
        # A metric may be missing from some reports (validated every 2nd epoch); only a trial
        # that ends without it, before any trial reported it, stops the sweep (on_trial_complete).
        self._metric_seen = self._metric_seen or self.metric in reported
        metrics = safe_metric_names(reported, trial.config)  # never over a column or a parameter
        record = self._record(trial)
        if step <= self._top.get(trial.trial_id, 0):
            self._supersede(record, step)
        self._top[trial.trial_id] = step
        self._buffer[(trial.trial_id, step)] = {
            "trial_id": trial.trial_id,
            "iteration": step,
            **safe_metric_names(reported, ()),
            "time_total_s": float(result.get("time_total_s", math.nan)),
        }
        record.status = "RUNNING"
        record.config = dict(trial.config)  # PBT changes a trial's config while it runs
        record.iterations = step
        record.metrics.update(metrics)
        record.node_ip = result.get("node_ip", record.node_ip)
        record.node_id = result.get("node_id") or record.node_id
        # Tune marks the result that a scheduler stopped the trial on with done=True before the
        # callbacks see it; a trial that finishes by itself reports done=False last.
        record.stopped_early = bool(result.get("done")) and (
            self.max_t is None or step < self.max_t
        )
        value = metrics.get(self.metric)
        if isinstance(value, int | float) and math.isfinite(value):
            best = record.best
            record.best = float(value) if best is None else self._better(float(value), best)
        elif isinstance(value, float):
            # Diverged (as the mlp reports it): NonFiniteMetricStopper stops the trial on this
            # result, an early stop like a scheduler's, not a failure; the rows so far stay.
            record.stopped_early = True
            record.metrics["diverged"] = True
        self._dirty = True
        if len(self._buffer) >= self.flush_rows or (
            time.monotonic() - self._last_flush > self.flush_seconds
        ):
            self.flush()

    def _supersede(self, record: TrialRecord, first: int) -> None:
        """The trial restarted at iteration ``first``: drop its rows from there on, and recompute
        its best and last values from the rows before (the store's, then the buffer's)."""
        trial_id = record.trial_id
        for iteration in range(first, self._top.get(trial_id, 0) + 1):
            self._buffer[(trial_id, iteration)] = {
                "trial_id": trial_id,
                "iteration": iteration,
                SUPERSEDED: True,
            }
        rows = {
            int(row["iteration"]): row
            for row in self.store.read_curves(trial_ids=[trial_id]).to_pylist()
            if int(row["iteration"]) < first
        }
        for (tid, iteration), row in self._buffer.items():
            if tid == trial_id and iteration < first:
                rows[iteration] = row
        record.best = None
        record.metrics = {}
        for iteration in sorted(rows):
            row = rows[iteration]
            kept = {k: v for k, v in row.items() if k not in _CURVE_KEYS and v is not None}
            record.metrics.update(safe_metric_names(kept, record.config or {}))
            value = row.get(self.metric)
            if isinstance(value, int | float) and math.isfinite(value):
                before: float | None = record.best
                record.best = float(value) if before is None else self._better(float(value), before)
        logger.info("trial %s restarted at iteration %d: later rows superseded", trial_id, first)

    def _better(self, value: float, best: float) -> float:
        return value if self.sign * value < self.sign * best else best

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._ended_here.add(trial.trial_id)
        record = self._record(trial)
        reason = getattr(trial, STOP_REASON, None)
        if not reason:  # ended by itself, not by trial_time_limit_s (a slow start is no typo)
            # Tune catches errors of this hook (only the trial would fail): on_step_end raises it.
            self._failure = self._failure or missing_metric(record, self.metric, self._metric_seen)
        if reason:
            record.error = reason
        record.status = "ERROR" if record.error else "TERMINATED"
        if not record.error and getattr(trial, USER_STOPPED, False):
            record.status, record.stopped_early = "STOPPED", True
        record.ended_at = _now()
        self._dirty = True

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._ended_here.add(trial.trial_id)
        record = self._record(trial)
        record.status = "ERROR"
        record.ended_at = _now()
        record.error = _error_text(trial)
        self._dirty = True
        self._flush_if_due()  # batched: an error used to rewrite trials.parquet each time

    def on_step_end(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        if self._failure is not None:
            self.flush()
            raise self._failure
        self._flush_if_due()

    def _flush_if_due(self) -> None:
        """Flush when the buffer is old: errors and quiet spells still reach storage in time."""
        if (self._buffer or self._dirty) and (
            time.monotonic() - self._last_flush > self.flush_seconds
        ):
            self.flush()

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        self._load()
        cut_short = self._cut_short()  # once: per trial it made this pass quadratic
        for trial in trials:
            record = self._record(trial)
            record.config = record.config or dict(trial.config)  # a rebuilt record has none
            if trial.trial_id in cut_short:
                continue  # stopped by Tune's cleanup (Ctrl-C): still RUNNING for a resume
            if trial.status in (Trial.TERMINATED, Trial.ERROR) and record.status not in (
                "ERROR",
                "STOPPED",
            ):
                record.status = trial.status
        known = {trial.trial_id for trial in trials}
        for trial_id in set(self._records) - known:
            del self._records[trial_id]  # started after the last snapshot; rerun under a new id
        self._buffer = {key: row for key, row in self._buffer.items() if key[0] in known}
        self._dirty = True
        self.flush()
        self.store.compact(keep_trials=known)
        ended = {
            trial.trial_id for trial in trials if trial.status in (Trial.TERMINATED, Trial.ERROR)
        }
        self.store.prune_checkpoints(ended - cut_short)

    def _cut_short(self) -> set[str]:
        """Trials that ran in this process and did not end: an interrupt stopped them."""
        return self._started_here - self._ended_here

    def get_state(self) -> dict[str, Any] | None:
        # Tune is saving the snapshot a resume restarts from: everything reported so far must be on
        # storage before it (see the module docstring).
        self.flush()
        return None

    # Writing

    def flush(self) -> None:
        """Write buffered rows as one curves part and rewrite trials.parquet.

        A storage that fails (full, read-only, gone) stops the sweep with SweepFailed: the files
        written before stay whole and readable, and ``caviar resume`` continues once it is fixed.
        """
        try:
            self._flush()
        except OSError as error:
            raise SweepFailed(
                f"storage: cannot write the results to {self.store.root}: {error}. "
                "What was written before is readable; make room (or make it writable) and "
                "continue with `caviar resume`"
            ) from error

    def _flush(self) -> None:
        self._load()
        if self._buffer:
            rows = list(self._buffer.values())
            fixed = {"trial_id": pa.string(), "iteration": pa.int64()}
            table = build_table(rows, fixed, self._metric_types, self._metadata)
            self.store.append_curves(table, self._sequence)
            self._sequence += 1
            self._parts += 1
            self._unmerged_rows += len(rows)  # merged before they make one big part: short merges
            if self._parts > self.compact_parts or self._unmerged_rows >= BIG_PART_ROWS // 2:
                self.store.compact()
                self._parts, self._unmerged_rows = 1, 0
            self._buffer.clear()
            self._dirty = True
        if self._dirty:
            self.store.write_trials(self._trials_table())
            self._dirty = False
        self._last_flush = time.monotonic()

    def _trials_table(self) -> pa.Table:
        rows = [record.row(self.metric) for record in self._records.values()]
        if self.objectives:
            for row, flag in zip(rows, pareto_flags(rows, self.objectives), strict=True):
                row[PARETO] = flag
        fixed: dict[str, pa.DataType] = {"trial_id": pa.string(), "status": pa.string()}
        fixed.update(self._param_types)
        fixed.setdefault("seed", pa.int64())
        for key, dtype in SWEEP_COLUMNS.items():  # where the orchestrator added them
            if any(row.get(key) is not None for row in rows):
                fixed.setdefault(key, dtype)
        fixed.update(
            {
                f"best_{self.metric}": pa.float64(),
                "iterations": pa.int64(),
                "stopped_early": pa.bool_(),
                "error": pa.string(),
                "node_ip": pa.string(),
                "node_id": pa.string(),
                "started_at": TIMESTAMP,
                "ended_at": TIMESTAMP,
            }
        )
        if self.objectives:
            fixed[PARETO] = pa.bool_()
        return build_table(rows, fixed, self._trial_types, self._metadata)

    def _record(self, trial: Trial) -> TrialRecord:
        record = self._records.get(trial.trial_id)
        if record is None:
            record = self._records[trial.trial_id] = TrialRecord(trial.trial_id, trial.config)
        return record

    def _load(self) -> None:
        """Once per run: continue from what is on storage (nothing on a fresh sweep)."""
        if self._loaded:
            return
        self._loaded = True
        self._sequence = self.store.next_sequence()
        self._parts = len(self.store.curve_parts())
        stored = self.store.read_curves(columns=[])
        if stored.num_rows:
            tops = stored.group_by("trial_id", use_threads=False).aggregate([("iteration", "max")])
            self._top = dict(
                zip(tops["trial_id"].to_pylist(), tops["iteration_max"].to_pylist(), strict=True)
            )
        schema = self.store.curve_schema()
        if schema is not None:
            self._metric_types = {
                f.name: f.type for f in schema if f.name not in ("trial_id", "iteration")
            }
        table = load_trials(self.store, self.metric, self.sign)  # rebuilt if damaged
        if table is None:
            return
        fixed_types = {"trial_id", "status", *self._param_types}
        self._trial_types = {f.name: f.type for f in table.schema if f.name not in fixed_types}
        fixed = {"trial_id", "status", "iterations", "stopped_early", "error", "node_ip", "node_id"}
        fixed |= {"started_at", "ended_at", f"best_{self.metric}", PARETO}
        for row in table.to_pylist():
            record = TrialRecord(
                row["trial_id"], {k: row[k] for k in self._param_types if row.get(k) is not None}
            )
            record.status = row["status"]
            record.best = row.get(f"best_{self.metric}")
            self._metric_seen = self._metric_seen or record.best is not None
            record.iterations = row.get("iterations") or 0
            record.error = row.get("error")
            record.stopped_early = bool(row.get("stopped_early"))
            record.node_ip = row.get("node_ip")
            record.node_id = row.get("node_id")
            record.started_at = row.get("started_at")
            record.ended_at = row.get("ended_at")
            record.metrics = {
                k: v for k, v in row.items() if k not in fixed and k not in self._param_types
            }
            self._records[record.trial_id] = record


# Curve columns that are not metrics (a trial's last values come from the others).
_CURVE_KEYS = frozenset({*KEY, "time_total_s", "timestamp", SUPERSEDED})

# The line of a traceback that names the exception: "ValueError: ...", "MemoryError".
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b(:.*)?$")


def _now() -> datetime:
    return datetime.now(UTC)


def _error_text(trial: Trial) -> str:
    """The last line of the trial's traceback: the exception and its message."""
    text: object = None
    with contextlib.suppress(Exception):  # the error file may not be readable from here
        text = trial.get_error()
    if not text:
        text = _error_file_text(trial)
    if not text:
        return "the trial failed (no error text was recorded)"
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line):
            return line
    for line in reversed(lines):
        if ":" in line and not line.startswith("File "):
            return line
    return lines[-1]


def _error_file_text(trial: Trial) -> str | None:
    """The error.txt Tune wrote for the trial: first on the driver (Tune copies it to storage
    later, so ``Trial.get_error`` does not find it yet), else on storage (restore failures)."""
    with contextlib.suppress(Exception):
        local = trial.error_file
        if local:
            with open(local) as file:
                return file.read()
    storage = trial.storage
    if storage is None:
        return None
    try:
        path = f"{storage.trial_fs_path}/error.txt"
        with storage.storage_filesystem.open_input_stream(path) as stream:
            return bytes(stream.read()).decode(errors="replace")
    except Exception:
        return None
