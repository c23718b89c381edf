# SHIM: moved to caviar.cli.grow; removed at merge.
from caviar.cli.grow import continue_trials, extend, request_more_trials, zoom

__all__ = ["continue_trials", "extend", "request_more_trials", "zoom"]
