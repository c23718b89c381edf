"""What every tracker does with a sweep, and the replay that feeds one from the Parquet tables.

A tracker (``Sink``) hears of a sweep as a sequence of calls: ``open``, then per trial
``start_trial`` (its params), ``log`` (one curves row: the iteration and its metrics) and
``end_trial`` (status, error), then ``close``. The live callback (``callback.py``) makes these
calls from Ray Tune's results on the driver, building each row as the Parquet callback does;
``replay`` (``caviar export``) makes the same calls from trials.parquet and the curves. So both
paths write through one piece of code per tracker, and an export equals what a live run logs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import pandas as pd

from caviar.results.schema import CURVE_KEYS
from caviar.results.status import ERROR, RUNNING, TERMINATED

# Trials-table statuses, and the run status each tracker records for them.
FINISHED, FAILED = TERMINATED, ERROR


class Sink(Protocol):
    """One tracker's writer for one sweep."""

    def open(self) -> None: ...

    def start_trial(self, trial_id: str, params: Mapping[str, Any]) -> None: ...

    def log(
        self, trial_id: str, iteration: int, metrics: Mapping[str, float], timestamp: float
    ) -> None: ...

    def end_trial(self, trial_id: str, status: str, error: str | None) -> None: ...

    def close(self, interrupted: bool) -> None: ...


def numeric_metrics(row: Mapping[str, Any]) -> dict[str, float]:
    """The numeric metrics of a curves row (booleans as 0/1; text and nulls left out)."""
    found: dict[str, float] = {}
    for key, value in row.items():
        if key in CURVE_KEYS or value is None:
            continue
        if isinstance(value, bool | int | float):
            found[key] = float(value)  # NaN too: a trial reported it (a null is an absent metric)
    return found


def plain_params(config: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's hyperparameters as trackers record them: no nulls (absent conditionals)."""
    return {k: v for k, v in config.items() if v is not None and not _is_missing(v)}


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def replay(
    sinks: Sequence[Sink], trials: pd.DataFrame, curves: pd.DataFrame, params: Sequence[str]
) -> int:
    """Feed a finished sweep's tables to ``sinks``; the number of curve rows sent.

    Read the tables with ``dtype_backend="pyarrow"``: a metric a row did not report is null
    there (left out), while a NaN it did report stays NaN (logged).
    """
    for sink in sinks:
        sink.open()
    by_trial = (
        {key: group for key, group in curves.groupby("trial_id", sort=False)} if len(curves) else {}
    )
    sent = 0
    for record in trials.to_dict("records"):
        trial_id = str(record["trial_id"])
        config = plain_params({k: _python(record.get(k)) for k in params if k in record})
        started = record.get("started_at")
        start = started.timestamp() if isinstance(started, pd.Timestamp) else None
        for sink in sinks:
            sink.start_trial(trial_id, config)
        rows = by_trial.get(trial_id)
        if rows is not None:
            for row in rows.sort_values("iteration").to_dict("records"):
                when = _report_time(row, start)
                metrics = numeric_metrics({str(k): _python(v) for k, v in row.items()})
                for sink in sinks:
                    sink.log(trial_id, int(row["iteration"]), metrics, when)
                sent += 1
        error = record.get("error")
        status = str(record.get("status") or RUNNING)
        for sink in sinks:
            sink.end_trial(trial_id, status, None if _is_missing(error) else str(error))
    for sink in sinks:
        sink.close(interrupted=False)
    return sent


def _report_time(row: Mapping[Any, Any], start: float | None) -> float:
    """When a curves row was reported: its ``timestamp`` (schema 2), else the trial's start plus
    ``time_total_s`` (older sweeps), else now."""
    stamp = row.get("timestamp")
    if isinstance(stamp, pd.Timestamp | datetime) and not _is_missing(stamp):
        return float(stamp.timestamp())
    elapsed = row.get("time_total_s")
    if start is not None and isinstance(elapsed, int | float) and math.isfinite(elapsed):
        return start + float(elapsed)
    return pd.Timestamp.now().timestamp()


def _python(value: Any) -> Any:
    """numpy and pandas scalars as plain Python values; NA as None."""
    if _is_missing(value) and not isinstance(value, float):
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value
