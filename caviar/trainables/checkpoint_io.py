"""Loading a trial's checkpoint without running code from it.

``torch.load(weights_only=False)`` unpickles arbitrary objects: anyone who can write to the
sweep's storage could then run code on every worker that resumes from it. Checkpoints are loaded
with ``weights_only=True``, which takes tensors, numbers, strings, and lists, tuples and dicts of
them: everything the built-in trainables save (state_dicts, RNG states, rung records). A user
state holding other objects is refused with a message saying how to make it loadable.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch


class UnsafeCheckpoint(RuntimeError):
    """A checkpoint holds objects that ``torch.load(weights_only=True)`` does not rebuild."""


def load_state(path: Path) -> Any:
    """The object saved at ``path`` with ``torch.save``, loaded without unpickling code."""
    try:
        return torch.load(path, weights_only=True)
    except pickle.UnpicklingError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "unpickling refused"
        raise UnsafeCheckpoint(
            f"checkpoint {path.name} holds objects other than tensors, numbers, strings, lists "
            f"and dicts ({reason[:200]}); caviar loads checkpoints with weights_only=True so that "
            "storage cannot run code here: save plain state (state_dict(), tensors, numbers), "
            "or allow your classes with torch.serialization.add_safe_globals"
        ) from None
