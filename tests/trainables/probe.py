"""A user trainable for tests: reports which process ran it and how often that process loaded data."""

from __future__ import annotations

import os
from typing import Any

from caviar.trainables.data import load_dataset
from caviar.tune.context import TrialContext


def train(config: dict[str, Any], ctx: TrialContext) -> None:
    """Touch the data twice per epoch and report the loader's cache misses in this process."""
    for _ in range(int(config["epochs"])):
        n = len(ctx.data.y_train) + len(ctx.data.y_val)
        ctx.report(
            val_loss=float(config["x"]),
            worker_pid=os.getpid(),
            rows=n,
            loads=load_dataset.cache_info().misses,
        )
