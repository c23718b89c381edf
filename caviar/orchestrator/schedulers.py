# SHIM: moved to caviar.tune.schedulers; removed at merge.
from caviar.tune.schedulers import (
    rung_milestones,
)

__all__ = [
    "rung_milestones",
]
