"""Trainables: the built-in PyTorch models and their one epoch loop, datasets, and the adapter for
users' functions. Importing the package loads neither torch nor Ray: the spec reads the knob
declarations (``knobs``) and the ``TrainContext`` Protocol (``protocol``) without them."""

from __future__ import annotations

from typing import Any

from caviar.trainables.data import Dataset, DataSpec, load_dataset

__all__ = ["DataSpec", "Dataset", "TrialContext", "load_dataset"]


def __getattr__(name: str) -> Any:
    if name == "TrialContext":  # the Ray-facing context, loaded only when asked for
        from caviar.trainables.context import TrialContext

        return TrialContext
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
