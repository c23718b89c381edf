"""Trainables shaped like odd but legitimate user code, for the hostile-spec tests."""

from __future__ import annotations

from typing import Any


def every_second_epoch(config: dict[str, Any], ctx: Any) -> None:
    """Validates every 2nd epoch only: ``val_loss`` is missing from the odd epochs' reports."""
    for epoch in range(1, int(config["epochs"]) + 1):
        metrics = {"train_loss": 1.0 / epoch}
        if epoch % 2 == 0:
            metrics["val_loss"] = float(config["x"]) + 1.0 / epoch
        ctx.report(**metrics)


def reserved_names(config: dict[str, Any], ctx: Any) -> None:
    """Reports metrics named like caviar's own columns and like its parameter ``x``."""
    for epoch in range(1, int(config["epochs"]) + 1):
        ctx.report(
            score=float(config["x"]) * epoch,
            iteration=100 + epoch,
            status="mine",
            trial_id="not-a-trial",
            time_total_s=-1.0,
            x=-1.0,
        )
