"""Search spaces: each hyperparameter on its right scale, conditional parameters, YAML parsing,
presets by tuning priority, coarse-to-fine zoom, the Optuna mapping (Ray Tune domains:
``caviar.tune.space``).

>>> from caviar.search_spaces import loguniform, parse
>>> parse("loguniform(1e-4, 1)") == loguniform(1e-4, 1)
True
"""

from caviar.search_spaces.distributions import (
    Choice,
    Constant,
    Distribution,
    Float,
    Grid,
    Integer,
    choice,
    constant,
    grid,
    integer,
    loguniform,
    pow2,
    reverse_loguniform,
    uniform,
)
from caviar.search_spaces.optuna import from_optuna, suggest_config, to_optuna
from caviar.search_spaces.parsing import parse, parse_value
from caviar.search_spaces.presets import preset
from caviar.search_spaces.space import Condition, Config, Param, Space
from caviar.search_spaces.zoom import zoom

__all__ = [
    "Choice",
    "Condition",
    "Config",
    "Constant",
    "Distribution",
    "Float",
    "Grid",
    "Integer",
    "Param",
    "Space",
    "choice",
    "constant",
    "from_optuna",
    "grid",
    "integer",
    "loguniform",
    "parse",
    "parse_value",
    "pow2",
    "preset",
    "reverse_loguniform",
    "suggest_config",
    "to_optuna",
    "uniform",
    "zoom",
]
