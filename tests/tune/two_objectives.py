"""A cheap trainable with two objectives in conflict: ``loss`` falls as ``cost`` rises.

loss = (x - 0.8)^2 + (y - 0.6)^2 + 0.1 / epoch, cost = x + y: the front is the trials that buy
the least loss for their cost. No data, no torch.
"""

from __future__ import annotations

from typing import Any


def train(config: dict[str, Any], ctx: Any) -> None:
    x, y = float(config["x"]), float(config["y"])
    for epoch in range(1, int(config["epochs"]) + 1):
        ctx.report(loss=(x - 0.8) ** 2 + (y - 0.6) ** 2 + 0.1 / epoch, cost=x + y)
