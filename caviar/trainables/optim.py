"""Optimizers and learning-rate schedules of the torch trainables, built from config keys.

The names and defaults are declared in ``knobs.TRAINING_KNOBS``; this module builds them.

Schedules are per-epoch multipliers of the base lr (``lr_factor``), driven by torch's LambdaLR so
their position is part of the scheduler's state_dict and survives checkpoints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from caviar.trainables.knobs import LR_SCHEDULES, OPTIMIZERS

__all__ = ["LR_SCHEDULES", "OPTIMIZERS", "build_optimizer", "lr_factor"]


def build_optimizer(config: Mapping[str, Any], params: Any) -> torch.optim.Optimizer:
    """The optimizer named by ``config['optimizer']`` with its hyperparameters from the config."""
    name, lr, wd = config["optimizer"], float(config["lr"]), float(config["weight_decay"])
    if name == "sgd":
        return torch.optim.SGD(
            params,
            lr=lr,
            momentum=float(config["momentum"]),
            nesterov=bool(config["nesterov"]) and config["momentum"] > 0,
            weight_decay=wd,
        )
    betas = (float(config["beta1"]), float(config["beta2"]))
    if name == "adam":
        return torch.optim.Adam(
            params, lr=lr, betas=betas, eps=float(config["eps"]), weight_decay=wd
        )
    if name == "adamw":
        return torch.optim.AdamW(
            params, lr=lr, betas=betas, eps=float(config["eps"]), weight_decay=wd
        )
    if name == "rmsprop":
        return torch.optim.RMSprop(
            params,
            lr=lr,
            momentum=float(config["momentum"]),
            eps=float(config["eps"]),
            weight_decay=wd,
        )
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, eps=float(config["eps"]), weight_decay=wd)
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, eps=float(config["eps"]), weight_decay=wd)
    raise ValueError(f"optimizer: unknown {name!r} (known: {', '.join(OPTIMIZERS)})")


def lr_factor(config: Mapping[str, Any], epoch: int) -> float:
    """The multiplier of the base lr in ``epoch`` (0-based): warmup, then the schedule."""
    warmup = int(config["warmup_epochs"])
    if epoch < warmup:
        return (epoch + 1) / (warmup + 1)
    t = epoch - warmup
    schedule = config["lr_schedule"]
    if schedule == "constant":
        return 1.0
    if schedule == "step":
        return float(config["lr_decay"]) ** (t // max(1, int(config["lr_step_epochs"])))
    if schedule == "exponential":
        return float(config["lr_decay"]) ** (t / 10)
    if schedule == "cosine":
        total = max(1, int(config["epochs"]) - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(t, total) / total))
    if schedule == "triangular":
        floor, cycle = float(config["min_lr_ratio"]), max(2, int(config["cycle_epochs"]))
        phase = (t % cycle) / cycle  # 0 -> 1 over one cycle; peak (factor 1) at the middle
        return floor + (1 - floor) * (1 - abs(2 * phase - 1))
    if schedule == "one_cycle":
        # Smith's 1cycle: up from min_lr_ratio to 1 over the first 30%, cosine down to ~0 after.
        floor, total = float(config["min_lr_ratio"]), max(2, int(config["epochs"]) - warmup)
        peak = max(1, round(0.3 * total))
        if t < peak:
            return floor + (1 - floor) * t / peak
        down = min(t - peak + 1, total - peak) / max(1, total - peak)
        return floor * 1e-2 + (1 - floor * 1e-2) * 0.5 * (1 + math.cos(math.pi * down))
    raise ValueError(f"lr_schedule: unknown {schedule!r} (known: {', '.join(LR_SCHEDULES)})")
