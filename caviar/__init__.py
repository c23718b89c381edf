"""caviar: caviar-mode hyperparameter sweeps on Ray Tune, every result in Parquet.

>>> import caviar
>>> trials = caviar.read_trials("results/demo")     # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

from caviar.grow import continue_trials, extend, request_more_trials, zoom
from caviar.results.confirm import read_confirmations
from caviar.results.readers import read_curves, read_trials

try:
    __version__ = version("caviar-sweep")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

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
