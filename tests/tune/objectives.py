"""Cheap user trainables for orchestrator tests: functions of the config, no data, no torch.

``quadratic``: loss = (log10(lr) + 2.5)^2 (+ the same in log10(1 - momentum) when the space has a
momentum) plus a learning-curve term ``1 / epoch`` and, with ``noise`` > 0, a per-seed offset: the
best lr is 10^-2.5, and the curves of two configs keep their order at every epoch, as early-stopping
rules assume. Checkpoints every epoch and continues from a restore. With ``fail_once_at`` it raises
once at that epoch (a marker file under ``marker_dir`` remembers the failure), to test retries;
with ``fail_always`` every run raises.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np


def objective(config: dict[str, Any]) -> float:
    """The final value of ``loss`` for a config (without the curve term and noise)."""
    value = (math.log10(float(config["lr"])) + 2.5) ** 2
    if config.get("momentum") is not None:
        value += (math.log10(1.0 - float(config["momentum"])) + 2.5) ** 2
    return value


def quadratic(config: dict[str, Any], ctx: Any) -> None:
    state = ctx.restore()
    start = state["epoch"] if state else 0
    noise = float(config.get("noise", 0.0))
    offset = noise * float(np.random.default_rng(int(config.get("seed", 0))).normal())
    if config.get("fail_always"):
        raise RuntimeError("this trial always fails")
    marker_dir = config.get("marker_dir")
    for epoch in range(start + 1, int(config["epochs"]) + 1):
        if config.get("fail_once_at") == epoch and marker_dir:
            marker = Path(marker_dir, f"failed-{ctx.trial_id}")
            if not marker.exists():
                marker.write_text("x")
                raise RuntimeError(f"failing once at epoch {epoch}")
        time.sleep(float(config.get("sleep", 0.0)))
        loss = objective(config) + 1.0 / epoch + offset
        ctx.report(
            loss=loss,
            lr=float(config["lr"]),
            started_at_epoch=start + 1,
            checkpoint={"epoch": epoch},
        )
