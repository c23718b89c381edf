"""A tiny trainable for time-budget tests: it logs each (trial_id, iteration) that Tune took.

The log's path comes in the config (``log``), so that the shared test Ray's workers, started
before the test, find it. A line is written after ``ctx.report`` returns, that is once Tune has
the result, so every logged line must be a row in curves/.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.results.killable import log


def budgeted_spec(name: str, root: Path, epochs: int, sleep: float, **extra: Any) -> dict[str, Any]:
    """A spec of this trainable (score = x * epoch, maximized) logging to ``root/log.txt``."""
    return {
        "name": name,
        "trainable": "tests.tune.budgeted:train",
        "metric": "score",
        "mode": "max",
        "space": {
            "x": "uniform(0, 1)",
            "epochs": epochs,
            "sleep": sleep,
            "log": str(root / "log.txt"),
        },
        "storage": str(root / "results"),
        **extra,
    }


def train(config: dict[str, Any], ctx: Any) -> None:
    for epoch in range(ctx.iteration + 1, int(config["epochs"]) + 1):
        time.sleep(float(config["sleep"]))
        ctx.report(score=float(config["x"]) * epoch)
        log(f"{ctx.trial_id},{epoch}\n", str(config["log"]))


def logged(root: Path) -> set[tuple[str, int]]:
    """Every (trial_id, iteration) the trainable saw Tune take."""
    path = root / "log.txt"
    if not path.exists():
        return set()
    return {(t, int(i)) for t, i in (line.split(",") for line in path.read_text().split())}
