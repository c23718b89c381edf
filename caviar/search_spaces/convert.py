# SHIM: moved to caviar.search_spaces.optuna and caviar.tune.space; removed at merge.
from caviar.search_spaces.optuna import (
    from_optuna,
    from_optuna_value,
    optuna_distribution,
    suggest_config,
    to_optuna,
    to_optuna_value,
)
from caviar.tune.space import to_ray_tune

__all__ = [
    "from_optuna",
    "from_optuna_value",
    "optuna_distribution",
    "suggest_config",
    "to_optuna",
    "to_optuna_value",
    "to_ray_tune",
]
