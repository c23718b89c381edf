"""A test trainable for node failures: one iteration a second, a checkpoint after each, and a marker
file per (trial, iteration, node) so the test sees where each iteration ran."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import ray


def train(config: dict[str, Any], ctx: Any) -> None:
    state = ctx.restore() or {"total": 0.0}
    markers = Path(config["marker_dir"])
    markers.mkdir(parents=True, exist_ok=True)
    node = ray.get_runtime_context().get_node_id()
    while ctx.iteration < int(config["epochs"]):
        time.sleep(float(config["seconds"]))
        state["total"] += config["lr"]
        ctx.report(val_loss=1.0 / (1.0 + state["total"]), checkpoint=state)
        (markers / f"{ctx.trial_id}.{ctx.iteration}.{node}").touch()
