# SHIM: moved to caviar.spec.resolved (Ray-free) and caviar.tune.resolved (Ray's defaults); removed at merge.
from caviar.spec.model import DEFAULT_MAX_T, max_iterations
from caviar.tune.resolved import ray_defaults, resolve_scheduler, resolved

__all__ = ["DEFAULT_MAX_T", "max_iterations", "ray_defaults", "resolve_scheduler", "resolved"]
