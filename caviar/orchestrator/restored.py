# SHIM: moved to caviar.tune.compat; removed at merge.
from caviar.tune.compat import (
    restored_tune_config,
)

__all__ = [
    "restored_tune_config",
]
