"""Results: every reported result in Parquet and the readers. The writer is fed plain values
(by the tuner's callbacks in ``caviar.tune.callbacks_results``): no Ray Tune in this package.

The names below are imported when first used (PEP 562), so that importing a submodule (the store,
on the CLI's way to checking a spec) costs no pandas."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from caviar.results.readers import read_curves, read_trials
    from caviar.results.store import SweepStore

_LAZY = {
    "SweepStore": "caviar.results.store",
    "read_curves": "caviar.results.readers",
    "read_trials": "caviar.results.readers",
}

__all__ = ["SweepStore", "read_curves", "read_trials"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
