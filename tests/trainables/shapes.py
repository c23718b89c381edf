"""A trainable shaped like users' trainables, with fsynced ground truth of what it did.

``config`` knobs: ``epochs``; ``x`` (the loss is ``x + 1 / epoch``, so trials are deterministic and
ordered by ``x``); ``checkpoint_every`` (0: never checkpoint; else with every N-th report);
``raise_after`` (raise after that many reports of one run, 0: never); ``nan_at`` (report a NaN loss
at that iteration, 0: never); ``sleep`` (seconds per iteration); ``log`` (the side file).

The side file gets ``start,<trial_id>,<iteration>`` before an iteration is trained and
``<trial_id>,<iteration>`` once ``ctx.report`` has returned for it (Ray Tune took it), each line
fsynced, so it survives a kill -9 of everything around it.
"""

from __future__ import annotations

import time
from typing import Any

from tests.results.killable import log


def train(config: dict[str, Any], ctx: Any) -> None:
    path = config.get("log")
    state = ctx.restore()
    start = int(state["epoch"]) if state else 0
    every = int(config.get("checkpoint_every", 1))
    raise_after = int(config.get("raise_after", 0))
    nan_at = int(config.get("nan_at", 0))
    for reports, epoch in enumerate(range(start + 1, int(config["epochs"]) + 1), start=1):
        log(f"start,{ctx.trial_id},{epoch}\n", path)
        time.sleep(float(config.get("sleep", 0.0)))
        loss = float(config.get("x", 0.0)) + 1.0 / epoch
        if epoch == nan_at:
            loss = float("nan")
        checkpoint = {"epoch": epoch} if every and epoch % every == 0 else None
        ctx.report(loss=loss, epoch=epoch, checkpoint=checkpoint)
        log(f"{ctx.trial_id},{epoch}\n", path)
        if raise_after and reports >= raise_after:
            raise ValueError(f"blew up after {reports} reports")


def started(lines: list[str]) -> set[tuple[str, int]]:
    """The (trial_id, iteration) pairs the side file says were started."""
    found = set()
    for line in lines:
        fields = line.split(",")
        if len(fields) == 3 and fields[0] == "start":
            found.add((fields[1], int(fields[2])))
    return found
