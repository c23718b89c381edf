"""The ``ctx`` a trainable function receives: report metrics, checkpoint state, restore it.

``ctx.report(val_loss=v, ..., checkpoint=state)`` is one iteration, handed to Ray Tune in that call
(``tune.report(metrics, checkpoint=...)``): schedulers, the progress line and Parquet see it at
once, an exception raised later loses nothing, and the trainable waits in the call until Tune has
decided on it (a trial that ASHA stops at iteration k never starts k+1). ``checkpoint`` is a
reserved keyword; its state belongs to exactly that iteration, which is what makes a restored trial
continue at the iteration after its checkpoint.

The earlier form, ``ctx.report(...)`` then ``ctx.checkpoint(state)``, fails at once with one line
naming the new form. Keeping it working would need either holding every report back until the
next call (the one-iteration lag this contract removes) or a second Tune result for the same
iteration; neither is acceptable, and a loud error costs a user one edit.
"""

from __future__ import annotations

import copy
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ray import tune

if TYPE_CHECKING:  # imported where used: caviar.trainables imports this module (its ctx)
    import torch

    from caviar.trainables.data import Dataset, DataSpec

STATE_FILE = "state.pt"
# Sent with every report so the driver can say which Ray node ran each trial (several nodes can
# share one IP, e.g. on one machine); the results callback keeps it out of the metrics.
NODE_ID = "node_id"


def _node_id() -> str:
    import ray

    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""


class TrialContext:
    """Reporting and checkpointing for one trial running under Ray Tune."""

    def __init__(self, data_spec: DataSpec | None = None, shipped: Dataset | None = None) -> None:
        self._data_spec = data_spec
        self._shipped = shipped
        self._own: Dataset | None = None
        self.iteration = 0

    @property
    def data(self) -> Dataset:
        """The sweep's dataset (``data:`` in the spec).

        The driver loaded it once and shipped it through Ray's object store (``shipped``, see
        ``caviar.tune.build.trainable``); arrays from the store are read-only, so the trial gets
        its own writable copy, once. Without a shipped one it is loaded once per worker process.
        """
        from caviar.trainables.data import load_dataset

        if self._shipped is not None:
            if self._own is None:
                self._own = copy.deepcopy(self._shipped)
            return self._own
        if self._data_spec is None:
            raise RuntimeError("this sweep declares no data")
        return load_dataset(self._data_spec)

    @property
    def device(self) -> torch.device:
        """``cuda`` when Ray assigned this trial a GPU and torch can use it, else ``cpu``.

        Ray sets CUDA_VISIBLE_DEVICES to the trial's GPUs, so their first one is ``cuda:0``.
        """
        import torch  # here, not at import: the driver builds trainables without torch

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
        from caviar.trainables.checkpoint_io import load_state

        checkpoint = tune.get_checkpoint()
        if checkpoint is None:
            return None
        with checkpoint.as_directory() as directory:
            saved = load_state(Path(directory) / STATE_FILE)  # weights_only: runs no code
        self.iteration = int(saved["iteration"])
        return saved["state"]

    def report(self, checkpoint: Any = None, **metrics: Any) -> None:
        """Hand one iteration's metrics (numbers, bools or strings) to Ray Tune now.

        ``checkpoint``: optional state (anything ``torch.save`` takes) saved with this iteration;
        ``ctx.restore()`` returns it, and the trial continues at the iteration after it.
        """
        if not metrics:
            raise ValueError("report: needs at least one metric")
        plain = {k: _plain(k, v) for k, v in metrics.items()}
        self.iteration += 1
        self._send(plain, checkpoint)

    def _send(self, metrics: dict[str, Any], state: Any) -> None:
        """Ray Tune's ``tune.report``: returns when Tune asks for the next iteration."""
        payload = {**metrics, NODE_ID: _node_id()}
        if state is None:
            tune.report(payload)
            return
        import torch

        with tempfile.TemporaryDirectory(prefix="caviar-ckpt-") as directory:
            torch.save({"iteration": self.iteration, "state": state}, Path(directory) / STATE_FILE)
            tune.report(payload, checkpoint=tune.Checkpoint.from_directory(directory))

    def checkpoint(self, state: Any) -> None:
        """The earlier API: fails at once, naming the form that replaced it."""
        raise TypeError(
            "ctx.checkpoint(state) is gone: pass the state with its report, "
            "ctx.report(val_loss=..., checkpoint=state)"
        )


def _plain(key: str, value: Any) -> Any:
    torch = sys.modules.get("torch")  # a tensor means torch is imported; never import it here
    if torch is not None and isinstance(value, torch.Tensor):
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
