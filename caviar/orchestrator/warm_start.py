# SHIM: moved to caviar.search.warm_start; removed at merge.
from caviar.search.warm_start import (
    WARM_START,
    load_warm_start,
    optuna_storage,
    zoomed_first_round,
)

__all__ = [
    "WARM_START",
    "load_warm_start",
    "optuna_storage",
    "zoomed_first_round",
]
