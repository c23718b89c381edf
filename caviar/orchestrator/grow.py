# SHIM: moved to caviar.search.grow (checks) and caviar.tune.grow (run); removed at merge.
from caviar.search.grow import check_extend
from caviar.tune.grow import extend

__all__ = ["check_extend", "extend"]
