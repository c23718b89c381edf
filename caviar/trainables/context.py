"""The ``ctx`` a trainable function receives: report metrics, checkpoint state, restore it.

``ctx.report(**metrics)`` is one iteration. A report is handed to Ray Tune when the next call
arrives (or the function returns), so that a ``ctx.checkpoint(state)`` written after it travels
with it: the checkpoint then belongs to exactly that iteration, which is what makes resuming
exactly-once (a restored trial continues at the iteration after its checkpoint).
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from ray import tune

from caviar.trainables.checkpoint_io import load_state
from caviar.trainables.data import Dataset, DataSpec, load_dataset

STATE_FILE = "state.pt"
# Sent with every report so the driver can say which Ray node ran each trial (several nodes can
# share one IP, e.g. on one machine); the results callback keeps it out of the metrics.
NODE_ID = "node_id"


def _node_id() -> str:
    import ray

    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""


class TrialContext:
    """Reporting and checkpointing for one trial running under Ray Tune."""

    def __init__(self, data_spec: DataSpec | None = None) -> None:
        self._data_spec = data_spec
        self._pending: dict[str, Any] | None = None
        self.iteration = 0

    @property
    def data(self) -> Dataset:
        """The sweep's dataset (``data:`` in the spec), loaded once per worker process."""
        if self._data_spec is None:
            raise RuntimeError("this sweep declares no data")
        return load_dataset(self._data_spec)

    @property
    def device(self) -> torch.device:
        """``cuda`` when Ray assigned this trial a GPU and torch can use it, else ``cpu``.

        Ray sets CUDA_VISIBLE_DEVICES to the trial's GPUs, so their first one is ``cuda:0``.
        """
        if torch.cuda.is_available():
            import ray

            if ray.is_initialized() and ray.get_gpu_ids():
                return torch.device("cuda", 0)
        return torch.device("cpu")

    @property
    def trial_id(self) -> str:
        return str(tune.get_context().get_trial_id())

    def restore(self) -> Any:
        """The state last passed to ``checkpoint``, or None on a fresh start."""
        checkpoint = tune.get_checkpoint()
        if checkpoint is None:
            return None
        with checkpoint.as_directory() as directory:
            saved = load_state(Path(directory) / STATE_FILE)  # weights_only: runs no code
        self.iteration = int(saved["iteration"])
        return saved["state"]

    def report(self, **metrics: Any) -> None:
        """Record one iteration's metrics (floats, ints, bools or strings)."""
        if not metrics:
            raise ValueError("report: needs at least one metric")
        self.flush()
        self.iteration += 1
        self._pending = {k: _plain(k, v) for k, v in metrics.items()}

    def checkpoint(self, state: Any) -> None:
        """Save ``state`` (anything torch.save takes) with the iteration just reported."""
        if self._pending is None:
            raise RuntimeError("checkpoint: call report() first; a checkpoint belongs to a report")
        with tempfile.TemporaryDirectory(prefix="caviar-ckpt-") as directory:
            torch.save({"iteration": self.iteration, "state": state}, Path(directory) / STATE_FILE)
            metrics, self._pending = self._pending, None
            tune.report(
                {**metrics, NODE_ID: _node_id()},
                checkpoint=tune.Checkpoint.from_directory(directory),
            )

    def flush(self) -> None:
        """Hand the pending report to Ray Tune (called by the adapter when the function returns)."""
        if self._pending is not None:
            metrics, self._pending = self._pending, None
            tune.report({**metrics, NODE_ID: _node_id()})


def _plain(key: str, value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().item()
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if not isinstance(value, bool | int | float | str):
        raise ValueError(f"report: metric {key!r} must be a number or a string, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        return float(value)
    return value


def worker_threads(cpus: float) -> int:
    """Torch threads for a trial holding ``cpus`` CPUs: never more than the machine has."""
    return max(1, min(int(cpus) or 1, os.cpu_count() or 1))
