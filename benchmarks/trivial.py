"""A trainable that does no work, so a sweep of it measures the orchestrator and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def trivial_spec(
    name: str, num_samples: int, reports: int, scheduler: dict[str, Any], storage: Path
) -> dict[str, Any]:
    """A caviar sweep spec of ``num_samples`` trivial trials, each reporting ``reports`` times."""
    return {
        "name": name,
        "trainable": "benchmarks.trivial:train",
        "metric": "score",
        "mode": "max",
        "space": {"x": "uniform(0, 1)", "reports": reports},
        "search": {"algorithm": "random", "num_samples": num_samples},
        "scheduler": scheduler,
        "resources": {"cpu": 1},
        "storage": str(storage),
    }


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
