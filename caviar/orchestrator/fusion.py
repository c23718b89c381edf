# SHIM: moved to caviar.tune.fusion; removed at merge.
from caviar.tune.fusion import (
    AUTO,
    auto_fuse,
)

__all__ = [
    "AUTO",
    "auto_fuse",
]
