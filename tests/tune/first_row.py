"""A trainable that reports once, then watches its sweep's curves/ for that first row.

It waits (up to ``wait_s``) while still running, so the second report says whether the first
reached Parquet while the trial was alive: ``first_row_seen`` (1 or 0) and ``waited_s``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def train(config: dict[str, Any], ctx: Any) -> None:
    ctx.report(score=1.0)
    curves = Path(config["curves"])
    started = time.monotonic()
    seen = False
    while not seen and time.monotonic() - started < float(config["wait_s"]):
        seen = _has_row(curves, ctx.trial_id)
        if not seen:
            time.sleep(0.05)
    ctx.report(score=2.0, first_row_seen=int(seen), waited_s=time.monotonic() - started)


def _has_row(curves: Path, trial_id: str) -> bool:
    import pyarrow.parquet as pq

    for part in curves.glob("*.parquet"):
        try:
            ids = pq.read_table(part, columns=["trial_id"]).column("trial_id").to_pylist()
        except (OSError, ValueError):  # a part being written or merged: look again
            continue
        if trial_id in ids:
            return True
    return False
