"""A user trainable for caviar: a plain ``train(config, ctx)`` function (see examples/user_trainable.yaml).

It fits a small PyTorch model to a noisy sine, reports ``val_loss`` every epoch and checkpoints its
state, so ``caviar resume``, ASHA and PBT can stop, restore and continue it exactly.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def train(config: dict[str, Any], ctx: Any) -> None:
    """Fit y = sin(3x) + noise with an MLP of ``hidden_units``, trained by Adam at ``lr``."""
    generator = torch.Generator().manual_seed(int(config.get("seed", 0)))
    x = torch.rand(512, 1, generator=generator) * 4 - 2
    y = torch.sin(3 * x) + 0.1 * torch.randn(512, 1, generator=generator)
    x_train, y_train, x_val, y_val = x[:400], y[:400], x[400:], y[400:]

    torch.manual_seed(int(config.get("seed", 0)))
    width = int(config["hidden_units"])
    model = nn.Sequential(nn.Linear(1, width), nn.Tanh(), nn.Linear(width, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=float(config["lr"]))
    start = 1
    state = ctx.restore()  # None on a fresh start, else what was last checkpointed
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = state["epoch"] + 1

    for epoch in range(start, int(config["epochs"]) + 1):
        for index in torch.randperm(400, generator=generator).split(32):
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x_train[index]), y_train[index]).backward()
            optimizer.step()
        with torch.no_grad():
            val_loss = float(nn.functional.mse_loss(model(x_val), y_val))
        ctx.report(  # one call per epoch, sent to Ray Tune at once; the checkpoint is optional
            val_loss=val_loss,
            checkpoint={
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "epoch": epoch,
            },
        )
