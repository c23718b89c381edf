"""One reported result as plain values: what the writer needs of the dict Ray Tune hands over.

Ray Tune adds its own bookkeeping keys to every result (``RAY_RESULT_KEYS``); everything else a
trial reported is a user metric. ``parse_result`` reads a result dict (a plain mapping, no Ray
import) into a ``Reported``, so the writer, the trackers and the fused split all read a result the
same way.

The report time is Ray's own ``timestamp``: set on the trial's worker when the trial reported
(whole seconds since the epoch, as Ray records it), not when the driver wrote the row. A result
without one (a hand-made result) is stamped with the time it is parsed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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


@dataclass(frozen=True)
class Reported:
    """One result of one trial: its iteration, the user's metrics and Ray's record of it.

    ``done``: the scheduler stopped the trial on this result (Ray marks it before callbacks see
    it); a trial that finishes by itself reports ``done=False`` last.
    """

    iteration: int
    metrics: dict[str, Any] = field(default_factory=dict)
    time_total_s: float = math.nan
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    done: bool = False
    node_ip: str | None = None
    node_id: str | None = None


def user_metrics(result: Mapping[str, Any]) -> dict[str, Any]:
    """The metrics the trainable reported, without Ray Tune's bookkeeping keys."""
    return {
        k: v
        for k, v in result.items()
        if k not in RAY_RESULT_KEYS and isinstance(v, bool | int | float | str)
    }


def report_time(value: object) -> datetime:
    """Ray's ``timestamp`` of a result (seconds since the epoch) as a UTC datetime; now if absent."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return datetime.fromtimestamp(float(value), UTC)
    return datetime.now(UTC)


def parse_result(result: Mapping[str, Any]) -> Reported:
    """A result dict as Ray Tune reports it (``training_iteration``, metrics, ...) as plain values."""
    node_id = result.get("node_id")
    return Reported(
        iteration=int(result["training_iteration"]),
        metrics=user_metrics(result),
        time_total_s=float(result.get("time_total_s", math.nan)),
        timestamp=report_time(result.get("timestamp")),
        done=bool(result.get("done")),
        node_ip=result.get("node_ip"),
        node_id=str(node_id) if node_id else None,
    )
