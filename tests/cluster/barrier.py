"""A test trainable that records when it ran: it waits (up to a timeout) until ``wait_for`` trials
have started, so trials that Ray runs at the same time overlap for sure, and trials that Ray does
not run at the same time do not (each then ends at its timeout)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch


def train(config: dict[str, Any], ctx: Any) -> None:
    started = time.time()
    directory = Path(config["barrier_dir"])
    directory.mkdir(parents=True, exist_ok=True)
    (directory / ctx.trial_id).touch()
    deadline = started + float(config["timeout_s"])
    while len(list(directory.iterdir())) < int(config["wait_for"]) and time.time() < deadline:
        time.sleep(0.2)
    # With fake GPUs Ray sets CUDA_VISIBLE_DEVICES but torch has no CUDA: the trial falls back to CPU.
    device = ctx.device
    value = float(torch.ones(2, device=device).sum().item())
    ctx.report(
        val_loss=config["lr"] + value, started=started, ended=time.time(), device=str(device)
    )


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most intervals that contain one instant."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    best = running = 0
    for _, change in events:  # at equal times an end (-1) sorts before a start (+1)
        running += change
        best = max(best, running)
    return best
