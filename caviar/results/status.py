"""What the trials table says about one trial, and how that changes as the trial runs.

The status a trial's row shows, from the events the writer hears of:

```
PENDING --start--> RUNNING --report--> RUNNING
RUNNING --complete--> TERMINATED     (ended by itself, or stopped early by the scheduler)
                      ERROR          (caviar stopped it for a reason of its own: a time limit)
                      STOPPED        (a person asked: `caviar trial stop`, the dashboard)
RUNNING --fail------> ERROR          (the trial raised; ``error`` holds the exception line)
RUNNING --halt------> STOPPED        (the sweep's time budget ran out: the tuner stopped it)
PENDING --settle----> STOPPED        (the time budget ran out before it started)
```

At the sweep's end the tuner's own record settles what the events left open (``settle``), except
for a trial an interrupt cut short: it stays RUNNING, for ``caviar resume`` to continue.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from caviar.objective import Objective
from caviar.results.columns import safe_metric_names
from caviar.results.reported import Reported
from caviar.results.schema import (
    CURVE_KEYS,
    PARETO,
    TEST_PREFIX,
    TRIAL_BOOKKEEPING,
    TRIAL_HEAD,
    best_column,
)

PENDING, RUNNING, TERMINATED, ERROR, STOPPED = (
    "PENDING",
    "RUNNING",
    "TERMINATED",
    "ERROR",
    "STOPPED",
)
ENDED = frozenset({TERMINATED, ERROR})


def now() -> datetime:
    """The wall-clock time of an event the driver sees (a start, an end), in UTC."""
    return datetime.now(UTC)


class TrialRecord:
    """One trial's row of trials.parquet, updated as its events arrive."""

    def __init__(self, trial_id: str, config: Mapping[str, Any]) -> None:
        self.trial_id = trial_id
        self.config = dict(config)
        self.status = PENDING
        self.metrics: dict[str, Any] = {}
        self.best: float | None = None
        self.iterations = 0
        self.error: str | None = None
        self.stopped_early = False
        self.node_ip: str | None = None
        self.node_id: str | None = None
        self.started_at: datetime | None = None
        self.ended_at: datetime | None = None

    def start(self, when: datetime) -> None:
        self.status = RUNNING
        self.started_at = self.started_at or when

    def report(
        self,
        config: Mapping[str, Any],
        reported: Reported,
        objective: Objective,
        max_t: int | None,
    ) -> None:
        """One more result: last values, best value, early stop and divergence."""
        metrics = safe_metric_names(reported.metrics, config)  # never over a column or parameter
        self.status = RUNNING
        self.config = dict(config)  # PBT changes a trial's config while it runs
        self.iterations = reported.iteration
        if self.metrics and any(name.startswith(TEST_PREFIX) for name in self.metrics):
            # Trained on (``caviar continue``): the test scores were of an older model.
            self.metrics = {k: v for k, v in self.metrics.items() if not k.startswith(TEST_PREFIX)}
        self.metrics.update(metrics)
        self.node_ip = reported.node_ip or self.node_ip
        self.node_id = reported.node_id or self.node_id
        self.stopped_early = reported.done and (max_t is None or reported.iteration < max_t)
        value = metrics.get(objective.metric)
        if isinstance(value, int | float) and math.isfinite(value):
            self._better(objective, float(value))
        elif isinstance(value, float):
            # Diverged (as the mlp reports it): NonFiniteMetricStopper stops the trial on this
            # result, an early stop like a scheduler's, not a failure; the rows so far stay.
            self.stopped_early = True
            self.metrics["diverged"] = True

    def replay(self, rows: Iterable[Mapping[str, Any]], objective: Objective) -> None:
        """Last and best values recomputed from ``rows`` (curves rows, in iteration order): what
        is left of a trial that restarted from an earlier iteration."""
        self.best = None
        self.metrics = {}
        for row in rows:
            kept = {k: v for k, v in row.items() if k not in CURVE_KEYS and v is not None}
            self.metrics.update(safe_metric_names(kept, self.config or {}))
            value = row.get(objective.metric)
            if isinstance(value, int | float) and math.isfinite(value):
                self._better(objective, float(value))

    def _better(self, objective: Objective, value: float) -> None:
        if objective.better(value, self.best):
            self.best = value

    def complete(self, stop_reason: str | None, user_stopped: bool, when: datetime) -> None:
        """The trial ended without raising: by itself, by the scheduler, by caviar or a person."""
        if stop_reason:
            self.error = stop_reason
        self.status = ERROR if self.error else TERMINATED
        if not self.error and user_stopped:
            self.status, self.stopped_early = STOPPED, True
        self.ended_at = when

    def fail(self, error: str, when: datetime) -> None:
        """The trial raised: ``error`` is the line of its traceback that names the exception."""
        self.status = ERROR
        self.ended_at = when
        self.error = error

    def halt(self, when: datetime) -> None:
        """The tuner stopped the trial with no last result (the sweep's time budget ran out):
        stopped before its end, every row it reported kept."""
        self.status, self.stopped_early = STOPPED, True
        self.ended_at = when

    def settle(self, tuner_status: str) -> None:
        """At the sweep's end: the tuner's record of an ended trial wins over a stale RUNNING; a
        trial the tuner ended before it ever started (the time budget ran out) was STOPPED."""
        if tuner_status == TERMINATED and self.status == PENDING:
            self.status, self.stopped_early = STOPPED, True
        elif tuner_status in ENDED and self.status not in (ERROR, STOPPED):
            self.status = tuner_status

    def row(self, metric: str) -> dict[str, Any]:
        """The trial's row of trials.parquet (types: ``schema.trial_columns``)."""
        return {
            "trial_id": self.trial_id,
            "status": self.status,
            **self.config,
            **self.metrics,
            best_column(metric): self.best,
            "iterations": self.iterations,
            "stopped_early": self.stopped_early,
            "error": self.error,
            "node_ip": self.node_ip,
            "node_id": self.node_id,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any], params: Iterable[str], metric: str) -> TrialRecord:
        """The record a stored trials-table row describes (the inverse of ``row``)."""
        names = list(params)
        record = cls(row["trial_id"], {k: row[k] for k in names if row.get(k) is not None})
        record.status = row["status"]
        record.best = row.get(best_column(metric))
        record.iterations = row.get("iterations") or 0
        record.error = row.get("error")
        record.stopped_early = bool(row.get("stopped_early"))
        record.node_ip = row.get("node_ip")
        record.node_id = row.get("node_id")
        record.started_at = row.get("started_at")
        record.ended_at = row.get("ended_at")
        own = {*TRIAL_HEAD, *TRIAL_BOOKKEEPING, best_column(metric), PARETO, *names}
        record.metrics = {k: v for k, v in row.items() if k not in own}
        return record
