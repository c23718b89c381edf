"""TensorBoard: one run directory per trial, written by TensorBoard's own ``SummaryWriter``.

``<logdir>/<trial_id>/`` holds a scalar per metric per curves row (step = iteration), and the
trial's params and final status for TensorBoard's HParams tab. ``tensorboard --logdir <logdir>``
shows the whole sweep.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


class TensorboardSink:
    """Writes each trial of a sweep as a TensorBoard run under ``logdir``."""

    def __init__(self, logdir: str) -> None:
        self.logdir = logdir
        self.writers: dict[str, Any] = {}
        self.params: dict[str, dict[str, Any]] = {}
        self.last: dict[str, dict[str, float]] = {}

    def open(self) -> None:
        Path(self.logdir).mkdir(parents=True, exist_ok=True)

    def start_trial(self, trial_id: str, params: Mapping[str, Any]) -> None:
        from torch.utils.tensorboard import SummaryWriter

        if trial_id not in self.writers:
            self.writers[trial_id] = SummaryWriter(log_dir=str(Path(self.logdir) / trial_id))
        self.params[trial_id] = {
            k: v for k, v in params.items() if isinstance(v, bool | int | float | str)
        }

    def log(
        self, trial_id: str, iteration: int, metrics: Mapping[str, float], timestamp: float
    ) -> None:
        writer = self.writers.get(trial_id)
        if writer is None:
            return
        for key, value in metrics.items():
            writer.add_scalar(key, value, global_step=iteration, walltime=timestamp)
        self.last.setdefault(trial_id, {}).update(metrics)
        writer.flush()

    def end_trial(self, trial_id: str, status: str, error: str | None) -> None:
        from torch.utils.tensorboard.summary import hparams

        writer = self.writers.pop(trial_id, None)
        if writer is None:
            return
        params = {**self.params.pop(trial_id, {}), "status": status}
        # The HParams tab reads the metrics' values from this run's own scalars.
        metrics = {key: 0.0 for key in self.last.pop(trial_id, {})}
        for summary in hparams(params, metrics):  # type: ignore[no-untyped-call]
            writer.file_writer.add_summary(summary)
        if error:
            writer.add_text("error", error)
        writer.close()

    def close(self, interrupted: bool) -> None:
        for writer in self.writers.values():
            writer.close()
        self.writers.clear()
