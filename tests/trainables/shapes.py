"""A trainable shaped like users' trainables, with fsynced ground truth of what it did.

``config`` knobs: ``epochs``; ``x`` (the loss is ``x + 1 / epoch``, so trials are deterministic and
ordered by ``x``); ``checkpoint_every`` (0: never checkpoint; else with every N-th report);
``raise_after`` (raise after that many reports of one run, 0: never); ``fail_once_at`` (raise once
per trial just before reporting that iteration, remembered by a marker file in ``markers``; with
``max_failures`` Tune retries it); ``nan_at`` (report a NaN loss at that iteration, 0: never);
``sleep`` (seconds per iteration); ``log`` (the side file).

Every run of the function draws a token. The side file gets ``start,<trial_id>,<iteration>,<token>``
before an iteration is trained, ``<trial_id>,<iteration>,<token>`` once ``ctx.report`` has
returned for it (Ray Tune took it), and ``restored,<trial_id>,<iteration>,<token>`` when a run
starts from the checkpoint that run ``token`` reported with that iteration (so that report was
taken, even if it never returned: the scheduler paused or stopped the trial right after it). Each
line is fsynced, so it survives a kill -9 of everything around it. The token is reported too (metric ``run``), so a stored row names the run that made it.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from tests.results.killable import log


def train(config: dict[str, Any], ctx: Any) -> None:
    path = config.get("log")
    token = random.SystemRandom().randrange(1, 2**31)
    state = ctx.restore()
    start = int(state["epoch"]) if state else 0
    if state:  # the checkpoint came with that run's report of that epoch: it was delivered
        log(f"restored,{ctx.trial_id},{start},{state['run']}\n", path)
    every = int(config.get("checkpoint_every", 1))
    raise_after = int(config.get("raise_after", 0))
    fail_once_at = int(config.get("fail_once_at", 0))
    nan_at = int(config.get("nan_at", 0))
    epochs = range(start + 1, int(config["epochs"]) + 1)
    for reports, epoch in enumerate(epochs, start=1):
        log(f"start,{ctx.trial_id},{epoch},{token}\n", path)
        time.sleep(float(config.get("sleep", 0.0)))
        if epoch == fail_once_at and _first_time(config, ctx.trial_id):
            raise RuntimeError(f"failing once at iteration {epoch}")
        loss = float(config.get("x", 0.0)) + 1.0 / epoch
        if epoch == nan_at:
            loss = float("nan")
        checkpoint = {"epoch": epoch, "run": token} if every and epoch % every == 0 else None
        ctx.report(loss=loss, epoch=epoch, run=token, checkpoint=checkpoint)
        log(f"{ctx.trial_id},{epoch},{token}\n", path)
        if raise_after and reports >= raise_after:
            raise ValueError(f"blew up after {reports} reports")


def _first_time(config: dict[str, Any], trial_id: str) -> bool:
    marker = Path(str(config["markers"])) / trial_id
    if marker.exists():
        return False
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("failed once")
    return True


def started(lines: list[str]) -> set[tuple[str, int]]:
    """The (trial_id, iteration) pairs the side file says were started."""
    found = set()
    for line in lines:
        fields = line.split(",")
        if len(fields) == 4 and fields[0] == "start":
            found.add((fields[1], int(fields[2])))
    return found


def final_runs(lines: list[str]) -> dict[tuple[str, int], int]:
    """Ground truth of a finished sweep: the token of the run whose report stands for each
    (trial_id, iteration) that must be stored.

    A report was delivered (Ray Tune took it) when its ``ctx.report`` returned, or when a later run
    restored the checkpoint that rode with it (a trial that the scheduler pauses or stops right
    after a report never returns from it, yet the report was taken). A checkpoint of another
    trial's run (PBT's exploit) says nothing of this trial's reports. A trial's last run is the
    token of its last ``start`` line; its reports stand. Below the first iteration it started (it
    restored a checkpoint there), the latest delivered report of an earlier run stands.
    """
    last: dict[str, int] = {}
    first: dict[tuple[str, int], int] = {}
    delivered: list[tuple[str, int, int]] = []
    trial_of: dict[int, str] = {}  # run token -> its trial
    for line in lines:
        fields = line.split(",")
        if len(fields) == 4 and fields[0] == "start":
            trial_id, iteration, token = fields[1], int(fields[2]), int(fields[3])
            first.setdefault((trial_id, token), iteration)
            last[trial_id] = token
            trial_of[token] = trial_id
        elif len(fields) == 4 and fields[0] == "restored":
            if trial_of.get(int(fields[3])) == fields[1]:
                delivered.append((fields[1], int(fields[2]), int(fields[3])))
        elif len(fields) == 3:
            delivered.append((fields[0], int(fields[1]), int(fields[2])))
    truth: dict[tuple[str, int], int] = {}
    for trial_id, iteration, token in delivered:  # in the order they happened: later ones win
        final = last[trial_id]
        if token == final or iteration < first[(trial_id, final)]:
            truth[(trial_id, iteration)] = token
    return truth
