"""A trainable for steering tests: reports ``loss`` every ``sleep`` seconds, never checkpoints.

Every report is logged as ``trial_id,iteration`` (fsynced) to ``config["log"]``: the ground truth
that the rows kept for a stopped trial are compared with.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.results.killable import log


def train(config: dict[str, Any], ctx: Any) -> None:
    for epoch in range(1, int(config["epochs"]) + 1):
        time.sleep(float(config["sleep"]))
        # Logged before the report: a report reaches Tune in the call, which a stop may not return from.
        log(f"{ctx.trial_id},{epoch}\n", str(config["log"]))
        ctx.report(loss=float(config["x"]) + 1.0 / epoch)


def steady_spec(
    storage: Path, log_path: Path, trials: int, epochs: int, sleep: float
) -> dict[str, Any]:
    """A sweep of ``trials`` random trials of this trainable, two at a time, no early stopping."""
    return {
        "name": "steady",
        "trainable": "tests.dashboard.steady:train",
        "metric": "loss",
        "mode": "min",
        "space": {
            "x": "loguniform(1e-3, 1)",
            "epochs": epochs,
            "sleep": sleep,
            "log": str(log_path),
        },
        "search": {"algorithm": "random", "num_samples": trials},
        "scheduler": {"name": "fifo"},
        "max_concurrent": 2,
        "seed": 0,
        "storage": str(storage),
    }


def reported(log_path: Path) -> dict[str, set[int]]:
    """What the trials reported, from the ground-truth log: trial_id -> iterations."""
    found: dict[str, set[int]] = {}
    if log_path.exists():
        for line in log_path.read_text().splitlines():
            trial_id, iteration = line.split(",")
            found.setdefault(trial_id, set()).add(int(iteration))
    return found
