# SHIM: moved to caviar.search.continuation (checks) and caviar.tune.continuation (run); removed at merge.
from caviar.search.continuation import check_continue
from caviar.tune.continuation import continue_trials

__all__ = ["check_continue", "continue_trials"]
