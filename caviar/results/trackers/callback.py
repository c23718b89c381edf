# SHIM: moved to caviar.tune.callbacks_trackers; removed at merge.
from caviar.tune.callbacks_trackers import TrackerCallback

__all__ = ["TrackerCallback"]
