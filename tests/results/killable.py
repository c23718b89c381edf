"""A tiny trainable that logs every (trial_id, iteration) it reports, as ground truth for kill tests.

The log is named by the CAVIAR_TEST_GROUND_TRUTH environment variable; every line is fsynced, so
it survives a kill -9 of everything around it. Iterations replayed after a restore appear twice.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

GROUND_TRUTH_ENV = "CAVIAR_TEST_GROUND_TRUTH"


def killable_spec(
    name: str, storage: Path, epochs: int, sleep: float, **extra: Any
) -> dict[str, Any]:
    """A sweep spec of this trainable: score = x * epoch, maximized; ``extra`` keys added."""
    return {
        "name": name,
        "trainable": "tests.results.killable:train",
        "metric": "score",
        "mode": "max",
        "space": {"x": "uniform(0, 1)", "epochs": epochs, "sleep": sleep},
        "storage": str(storage),
        **extra,
    }


def train(config: dict[str, Any], ctx: Any) -> None:
    state = ctx.restore()
    start = state["epoch"] if state else 0
    for epoch in range(start + 1, int(config["epochs"]) + 1):
        time.sleep(float(config.get("sleep", 0.05)))
        ctx.report(score=float(config["x"]) * epoch, epoch=epoch, checkpoint={"epoch": epoch})
        log(f"{ctx.trial_id},{epoch}\n")


def log(line: str, path: str | None = None) -> None:
    """Append ``line`` to the ground-truth log, fsynced (it must survive a kill -9 of everything)."""
    path = path or os.environ.get(GROUND_TRUTH_ENV)
    if not path:
        return
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line.encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
