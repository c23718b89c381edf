"""caviar: caviar-mode hyperparameter sweeps on Ray Tune, every result in Parquet.

>>> import caviar
>>> trials = caviar.read_trials("results/demo")     # doctest: +SKIP
"""

from caviar.analysis.confirm import read_confirmations
from caviar.cli.grow import continue_trials, extend, request_more_trials, zoom
from caviar.results.readers import read_curves, read_trials
from caviar.version import __version__

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
