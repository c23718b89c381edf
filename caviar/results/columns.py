"""The column names caviar writes itself, and how a reported metric of the same name is kept.

A trial's row holds its parameters, its metrics and caviar's own bookkeeping (``trial_id``,
``status``, ``iteration``, ...). A metric may not overwrite either of the others: a metric named
like a caviar column or like one of the trial's parameters is stored as ``metric_<name>``
instead (the built-in mlp's scheduled learning rate is reported as ``lr_now`` for that reason, so
that ``lr`` stays the sampled one). The sweep's own ``metric:`` may not be such a name at all: the
spec refuses it before anything runs.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Any

from caviar.errors import SweepFailed
from caviar.results.schema import BEST_PREFIX, OWN_COLUMNS, TEST_PREFIX

METRIC_PREFIX = "metric_"
# Written by the results writer into trials.parquet or curves/ (``best_<metric>`` too).
RESERVED_COLUMNS = OWN_COLUMNS


def is_reserved(name: str) -> bool:
    """Whether ``name`` is a column caviar writes itself (``best_*`` and ``test_*`` included)."""
    return name in RESERVED_COLUMNS or name.startswith((BEST_PREFIX, TEST_PREFIX))


def safe_metric_names(metrics: Mapping[str, Any], params: Container[str]) -> dict[str, Any]:
    """``metrics`` with every name that would overwrite a caviar column or a parameter moved to
    ``metric_<name>`` (``iteration`` -> ``metric_iteration``); other names are kept as they are."""
    if not any(is_reserved(name) or name in params for name in metrics):
        return dict(metrics)
    return {
        (f"{METRIC_PREFIX}{name}" if is_reserved(name) or name in params else name): value
        for name, value in metrics.items()
    }


def missing_metric(record: Any, metric: str, seen: bool) -> SweepFailed | None:
    """What stops the sweep (exit 1) when a trial ends without ever reporting the sweep's metric
    and no trial has reported it yet: a typo in ``metric:``, or a function that returns without
    calling ``ctx.report``. Once some trial reported the metric, a trial that did not (stopped
    before its first validation) is only a trial without a best value: None."""
    if seen or record.best is not None or metric in record.metrics:
        return None
    if record.iterations == 0:
        return SweepFailed(
            f"metric: the trainable returned without reporting anything (trial "
            f"{record.trial_id}); call ctx.report({metric}=...) once per iteration"
        )
    names = sorted(n.removeprefix(METRIC_PREFIX) for n in record.metrics if n != "diverged")
    return SweepFailed(
        f"metric: the trainable reported {', '.join(names)} but not {metric!r} "
        f"(trial {record.trial_id}, {record.iterations} iterations); "
        "fix `metric:` in the spec or report it"
    )
