"""Search spaces: each hyperparameter on its right scale, conditional parameters, YAML parsing.

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
from caviar.search_spaces.parsing import parse, parse_value
from caviar.search_spaces.space import Condition, Config, Param, Space

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
    "grid",
    "integer",
    "loguniform",
    "parse",
    "parse_value",
    "pow2",
    "reverse_loguniform",
    "uniform",
]
