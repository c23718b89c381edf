# SHIM: moved to caviar.tune.context; removed at merge.
from caviar.tune.context import NODE_ID, STATE_FILE, TrialContext, worker_threads

__all__ = ["NODE_ID", "STATE_FILE", "TrialContext", "worker_threads"]
