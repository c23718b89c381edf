"""caviar: caviar-mode hyperparameter sweeps on Ray Tune, every result in Parquet.

>>> import caviar
>>> trials = caviar.read_trials("results/demo")     # doctest: +SKIP

The public names are imported when first used (PEP 562): ``import caviar`` and every submodule
import (``caviar.errors`` from the CLI, ``caviar.trainables`` in a Ray worker) cost no pandas or
pyarrow until a reader is called.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from caviar.analysis.confirm import read_confirmations
    from caviar.cli.grow import continue_trials, extend, request_more_trials, zoom
    from caviar.results.readers import read_curves, read_trials

    __version__: str

# Public name -> the module that defines it.
_LAZY = {
    "continue_trials": "caviar.cli.grow",
    "extend": "caviar.cli.grow",
    "request_more_trials": "caviar.cli.grow",
    "zoom": "caviar.cli.grow",
    "read_confirmations": "caviar.analysis.confirm",
    "read_curves": "caviar.results.readers",
    "read_trials": "caviar.results.readers",
}

__all__ = [
    "__version__",
    "continue_trials",
    "extend",
    "read_confirmations",
    "read_curves",
    "read_trials",
    "request_more_trials",
    "zoom",
]


def __getattr__(name: str) -> Any:
    """Import a public name on first use, then keep it in the module's namespace."""
    if name == "__version__":
        value: Any = importlib.import_module("caviar.version").__version__
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'caviar' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
