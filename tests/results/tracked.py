"""A trainable shaped like users' for the tracker tests: an irregular metric set, a NaN, a crash.

``loss`` every epoch; ``val_extra`` only on even epochs; ``grad_norm`` NaN on epoch 3; a trial
with ``fail: k > 0`` raises after reporting k epochs.
"""

from __future__ import annotations

import math
from typing import Any


def train(config: dict[str, Any], ctx: Any) -> None:
    for epoch in range(1, int(config["epochs"]) + 1):
        if config["fail"] and epoch > int(config["fail"]):
            raise RuntimeError(f"boom at epoch {epoch}")
        metrics: dict[str, Any] = {
            "loss": 1.0 / (epoch * float(config["x"]) + 0.1),
            "grad_norm": math.nan if epoch == 3 else float(epoch),
        }
        if epoch % 2 == 0:
            metrics["val_extra"] = 0.5 * epoch
        ctx.report(**metrics)
