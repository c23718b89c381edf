"""A trainable that injects the fault its config names, and logs what it did as ground truth.

``config["fault"]``: ``none`` trains normally; ``raise`` raises at iteration 2; ``nan`` reports a NaN
loss at iteration 3; ``hang`` hangs at iteration 2 without reporting; ``oom`` allocates far more than
its worker's address-space limit at iteration 2. ``config["gate"]``: a file to wait for before
iteration 3 (the test creates it once it has injected a fault from outside). Every report is logged as ``trial_id,iteration``
and every injection as ``inject,trial_id,fault`` (fsynced, to the file named by the
``config["log"]`` or else the CAVIAR_TEST_GROUND_TRUTH environment variable), so tests can tell
that the fault happened.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import Any

from tests.results.killable import log

OOM_HEADROOM = 256 * 2**20  # the limit: what the worker maps now, plus this
OOM_ALLOCATION = 64 * 2**30


def train(config: dict[str, Any], ctx: Any) -> None:
    fault = str(config.get("fault", "none"))

    def _log(line: str) -> None:
        log(line, config.get("log"))

    state = ctx.restore()
    start = state["epoch"] if state else 0
    for epoch in range(start + 1, int(config["epochs"]) + 1):
        time.sleep(float(config.get("sleep", 0.02)))
        if epoch == 2 and fault in ("raise", "hang", "oom"):
            _log(f"inject,{ctx.trial_id},{fault}\n")
            inject(fault, config)
        if epoch == 3 and config.get("gate"):
            wait_for(Path(str(config["gate"])))
        loss = 1.0 / epoch + float(config.get("x", 0.0))
        if fault == "nan" and epoch == 3:
            _log(f"inject,{ctx.trial_id},nan\n")
            loss = float("nan")
        ctx.report(loss=loss, epoch=epoch, checkpoint={"epoch": epoch})
        _log(f"{ctx.trial_id},{epoch}\n")


def wait_for(gate: Path, timeout_s: float = 300) -> None:
    """Hold the trial until the test has injected its fault (it creates ``gate`` then)."""
    deadline = time.monotonic() + timeout_s
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def inject(fault: str, config: dict[str, Any]) -> None:
    if fault == "raise":
        raise ValueError(f"injected failure for x={config.get('x')}")
    if fault == "hang":
        time.sleep(3600)  # never reports again; only a time limit ends it
    if fault == "oom":
        allocate_beyond_limit()


def allocate_beyond_limit() -> None:
    """Allocate far beyond an address-space limit set on this worker (an OOM, made safe)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:
        mapped = int(statm.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (mapped + OOM_HEADROOM, hard))
    try:
        block = bytearray(OOM_ALLOCATION)  # far beyond the limit: this raises
        del block
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
