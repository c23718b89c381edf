"""The results writer on the driver: every reported result lands in Parquet, exactly once.

Fed plain values (trial ids, config dicts, ``Reported`` results; no Ray), by the tuner's callback
(``caviar.tune.callbacks_results``) or by a test. Results are buffered and flushed as one curves
part (plus a fresh trials.parquet) when the buffer is large or old (``flush.FlushPolicy``), at the
end of the sweep, and whenever the tuner snapshots its experiment state (``snapshot``). The last
trigger is what makes resume exactly-once: Ray Tune calls ``get_state`` of its callbacks while it
saves the snapshot that a resume restarts from, so every row up to any checkpoint that a resume
can restore is on storage first; rows after it are replayed and the later part wins.

Exactly-once is decided against the rows in the store, not against the tuner's snapshot: the
writer knows each trial's highest iteration on storage (read back at every start) or buffered. A
result at or below it means the trial restarted from an earlier iteration (from scratch after a
crash with no checkpoint, a retry from an older checkpoint, PBT's exploit): its rows from that
iteration on are superseded (tombstones, ``schema.SUPERSEDED``, in the next part; the later part
wins, readers and compaction drop them), and its best and last values are recomputed from the rows
before it. So a trial's curve is always what its last run reported, contiguous from 1, each
iteration once.

Resuming: the tuner restores its callbacks from the pickle it made when the sweep started, so
nothing learned while running may live only here: the pickle carries the configuration alone, and
``setup`` rebuilds the rest from storage (``rebuild.stored_state``). At the end, rows and trials
that the restored experiment does not know (trials started after the last snapshot, whose reruns
got new ids) are dropped, so the tables describe exactly the sweep the tuner ran.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from caviar.errors import SweepFailed
from caviar.objective import Objective, as_mode
from caviar.results.columns import missing_metric, safe_metric_names
from caviar.results.flush import FlushPolicy
from caviar.results.pareto import pareto_flags
from caviar.results.rebuild import stored_state
from caviar.results.reported import Reported
from caviar.results.schema import (
    CURVE_COLUMNS,
    PARETO,
    SUPERSEDED,
    SWEEP_COLUMNS,
    trial_columns,
)
from caviar.results.status import TrialRecord, now
from caviar.results.store import SweepStore, spec_metadata
from caviar.results.tables import build_table, param_types
from caviar.search_spaces import Space

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KnownTrial:
    """A trial as the tuner knows it at the sweep's end: its id, config and own status."""

    trial_id: str
    config: Mapping[str, Any]
    status: str


class ResultsWriter:
    """Buffers the results of a sweep's trials and flushes them to its Parquet files."""

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
        self.objective = Objective(metric, as_mode(mode))
        # Several (metric, mode): trials.parquet gets a `pareto` column (results/pareto.py).
        self.objectives = tuple(objectives) if len(objectives) > 1 else ()
        self.max_t = max_t
        self.policy = FlushPolicy(flush_rows, flush_seconds, compact_parts)
        self._metadata = spec_metadata(spec_yaml, version)
        self._param_types = param_types(space)
        self.reset()

    def reset(self) -> None:
        """Forget everything learned while running; ``load`` rebuilds it from storage."""
        self._curve_types: dict[str, pa.DataType] = {}
        self._trial_types: dict[str, pa.DataType] = {}
        self._buffer: dict[tuple[str, int], dict[str, Any]] = {}
        self._records: dict[str, TrialRecord] = {}
        # Each trial's highest iteration on storage or in the buffer (see the module docstring).
        self._top: dict[str, int] = {}
        self._started_here: set[str] = set()
        self._ended_here: set[str] = set()
        self._dirty = False
        self._sequence = 0
        self._loaded = False
        self._metric_seen = False
        self._failure: SweepFailed | None = None
        self.policy.restart(0)

    def __getstate__(self) -> dict[str, Any]:
        # The tuner pickles its callbacks once, when the sweep starts, and restores them from that
        # pickle on resume: the running state must come from storage then, never from here.
        keep = ("store", "objective", "objectives", "max_t", "policy", "_metadata", "_param_types")
        return {name: self.__dict__[name] for name in keep}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.reset()

    @property
    def records(self) -> Mapping[str, TrialRecord]:
        """The trials table as it stands, by trial id."""
        return self._records

    def load(self) -> None:
        """Once per run: continue from what is on storage (nothing on a fresh sweep)."""
        if self._loaded:
            return
        self._loaded = True
        state = stored_state(self.store, self.objective, self._param_types)
        self._sequence = state.sequence
        self.policy.restart(state.parts)
        self._top = state.top
        self._curve_types = state.curve_types
        self._trial_types = state.trial_types
        self._records = state.records
        self._metric_seen = state.metric_seen

    # Events

    def start(self, trial_id: str, config: Mapping[str, Any]) -> None:
        self.load()
        self._started_here.add(trial_id)
        self.record(trial_id, config).start(now())
        self._dirty = True

    def report(self, trial_id: str, config: Mapping[str, Any], reported: Reported) -> None:
        """One result of ``trial_id``: buffered as a curves row, folded into the trial's row."""
        self.load()
        step = reported.iteration
        # A metric may be missing from some reports (validated every 2nd epoch); only a trial
        # that ends without it, before any trial reported it, stops the sweep (``complete``).
        self._metric_seen = self._metric_seen or self.objective.metric in reported.metrics
        record = self.record(trial_id, config)
        if step <= self._top.get(trial_id, 0):
            self._supersede(record, step)
        self._top[trial_id] = step
        self._buffer[(trial_id, step)] = {
            "trial_id": trial_id,
            "iteration": step,
            "time_total_s": reported.time_total_s,
            "timestamp": reported.timestamp,
            **safe_metric_names(reported.metrics, ()),
        }
        record.report(config, reported, self.objective, self.max_t)
        self._dirty = True
        if self.policy.full(len(self._buffer)):
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
        record.replay((rows[i] for i in sorted(rows)), self.objective)
        logger.info("trial %s restarted at iteration %d: later rows superseded", trial_id, first)

    def complete(
        self,
        trial_id: str,
        config: Mapping[str, Any],
        stop_reason: str | None = None,
        user_stopped: bool = False,
    ) -> None:
        """The trial ended without raising; ``stop_reason``: caviar stopped it (a time limit)."""
        self._ended_here.add(trial_id)
        record = self.record(trial_id, config)
        if not stop_reason:  # ended by itself, not by trial_time_limit_s (a slow start is no typo)
            # The tuner catches errors of this hook (only the trial would fail): step_end raises.
            self._failure = self._failure or missing_metric(
                record, self.objective.metric, self._metric_seen
            )
        record.complete(stop_reason, user_stopped, now())
        self._dirty = True

    def fail(self, trial_id: str, config: Mapping[str, Any], error: str) -> None:
        """The trial raised; ``error`` is its exception line (``tracebacks.error_line``)."""
        self._ended_here.add(trial_id)
        self.record(trial_id, config).fail(error, now())
        self._dirty = True
        self.flush_if_due()  # batched: an error used to rewrite trials.parquet each time

    def halt(self, trial_id: str, config: Mapping[str, Any]) -> None:
        """The tuner stopped the trial without telling it so (the sweep's time budget ran out):
        STOPPED, its rows kept; not a trial that never reported the metric (it was cut short)."""
        self._ended_here.add(trial_id)
        self.record(trial_id, config).halt(now())
        self._dirty = True

    def step_end(self) -> None:
        """Between the tuner's steps: stop the sweep on a failure found, else flush if due."""
        if self._failure is not None:
            self.flush()
            raise self._failure
        self.flush_if_due()

    def flush_if_due(self) -> None:
        if self.policy.due(len(self._buffer), self._dirty):
            self.flush()

    def snapshot(self) -> None:
        """The tuner is saving the snapshot a resume restarts from: everything reported so far
        must be on storage before it (see the module docstring)."""
        self.flush()

    def cut_short(self) -> set[str]:
        """Trials that ran in this process and did not end: an interrupt stopped them."""
        return self._started_here - self._ended_here

    def end(self, trials: Sequence[KnownTrial]) -> set[str]:
        """The sweep ended: settle every trial from the tuner's record, drop what it does not know,
        flush, compact. Returns the trials an interrupt cut short (they stay RUNNING)."""
        self.load()
        cut_short = self.cut_short()  # once: per trial it made this pass quadratic
        for trial in trials:
            record = self.record(trial.trial_id, trial.config)
            record.config = record.config or dict(trial.config)  # a rebuilt record has none
            if trial.trial_id not in cut_short:  # Ctrl-C: still RUNNING for a resume
                record.settle(trial.status)
        known = {trial.trial_id for trial in trials}
        for trial_id in set(self._records) - known:
            del self._records[trial_id]  # started after the last snapshot; rerun under a new id
        self._buffer = {key: row for key, row in self._buffer.items() if key[0] in known}
        self._dirty = True
        self.flush()
        self.store.compact(keep_trials=known)
        return cut_short

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
        self.load()
        if self._buffer:
            rows = list(self._buffer.values())
            table = build_table(rows, CURVE_COLUMNS, self._curve_types, self._metadata)
            self.store.append_curves(table, self._sequence)
            self._sequence += 1
            if self.policy.wrote_part(len(rows)):
                self.store.compact()
                self.policy.merged()
            self._buffer.clear()
            self._dirty = True
        if self._dirty:
            self.store.write_trials(self._trials_table())
            self._dirty = False
        self.policy.flushed()

    def _trials_table(self) -> pa.Table:
        rows = [record.row(self.objective.metric) for record in self._records.values()]
        if self.objectives:
            for row, flag in zip(rows, pareto_flags(rows, self.objectives), strict=True):
                row[PARETO] = flag
        present = frozenset(  # the orchestrator's columns, where it added them
            key for key in SWEEP_COLUMNS if any(row.get(key) is not None for row in rows)
        )
        fixed = trial_columns(
            self.objective.metric, self._param_types, present, pareto=bool(self.objectives)
        )
        return build_table(rows, fixed, self._trial_types, self._metadata)

    def record(self, trial_id: str, config: Mapping[str, Any]) -> TrialRecord:
        """The trial's record, made (PENDING) the first time the trial is heard of."""
        record = self._records.get(trial_id)
        if record is None:
            record = self._records[trial_id] = TrialRecord(trial_id, config)
        return record
