"""A trainable that does no work, so a sweep of it measures the orchestrator and nothing else."""

from __future__ import annotations

from typing import Any


def train(config: dict[str, Any], ctx: Any) -> None:
    """Report ``score`` ``reports`` times (default 10); ``x`` makes trials differ for the scheduler."""
    x = float(config.get("x", 0.5))
    for step in range(1, int(config.get("reports", 10)) + 1):
        ctx.report(score=x * step)


def tune_train(config: dict[str, Any]) -> None:
    """The same trivial work written for plain Ray Tune (``tune.report``)."""
    from ray import tune

    x = float(config.get("x", 0.5))
    for step in range(1, int(config.get("reports", 10)) + 1):
        tune.report({"score": x * step})
