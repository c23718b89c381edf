# SHIM: moved to caviar.tune.searchers; removed at merge.
from caviar.tune.searchers import (
    SpaceSearcher,
)

__all__ = [
    "SpaceSearcher",
]
