"""caviar's built-in MLP trainable, reporting also the wall-clock time of each result.

A benchmark needs to know when a result was produced; Tune's per-trial ``time_total_s`` does not
say when the trial started on the sweep's clock, so each report carries ``wall_clock`` (Unix time,
taken on the worker as the epoch ends).
"""

from __future__ import annotations

import time
from typing import Any

from caviar.trainables.mlp import train_mlp


class _TimedContext:
    """Passes everything to caviar's TrialContext, adding ``wall_clock`` to every report."""

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx

    def report(self, **metrics: Any) -> None:
        self._ctx.report(**metrics, wall_clock=time.time())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


def train(config: dict[str, Any], ctx: Any) -> None:
    """Train the built-in MLP with ``config`` on the sweep's data."""
    train_mlp(config, _TimedContext(ctx))  # type: ignore[arg-type]
