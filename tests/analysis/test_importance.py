"""caviar.analysis.importance: fANOVA on each parameter's own scale, through the one Optuna mapping."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from optuna.distributions import FloatDistribution, IntDistribution

from caviar.analysis.importance import importances, trials_study
from caviar.objective import Objective
from caviar.search_spaces import Space, to_optuna

SPACE = {
    "units": "pow2(2, 1024)",
    "x": "uniform(0, 1)",
    "momentum": "reverse_loguniform(0.9, 0.999)",
}


def _trials(n: int = 80, seed: int = 0) -> tuple[pd.DataFrame, Space]:
    """The loss jumps by 1 for units <= 4 (2 of 10 powers, 0.2 % of the linear range) and moves
    a little with x: on its log scale units matters most, on a linear one it would not."""
    space = Space.from_dict(SPACE)
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(n):
        config = space.sample(rng)
        loss = (1.0 if config["units"] <= 4 else 0.0) + 0.3 * config["x"]
        rows.append({"trial_id": f"t{index}", **config, "best_loss": loss})
    return pd.DataFrame(rows), space


def test_a_power_of_two_enters_the_study_as_its_exponent() -> None:
    trials, space = _trials(10)
    study = trials_study(trials, space, ["units", "momentum"], "best_loss", Objective("loss"))
    first = study.trials[0]
    assert first.distributions["units"] == IntDistribution(1, 10)  # log2(2) .. log2(1024)
    assert first.distributions == {n: to_optuna(space)[n] for n in ("units", "momentum")}
    assert first.params["units"] == round(math.log2(trials["units"].iloc[0]))
    momentum = first.distributions["momentum"]  # 1 - x on a log scale
    assert isinstance(momentum, FloatDistribution) and momentum.log
    assert math.isclose(momentum.low, 0.001) and math.isclose(momentum.high, 0.1)
    assert math.isclose(first.params["momentum"], 1 - trials["momentum"].iloc[0])
    assert study.direction.name == "MINIMIZE"
    maximize = trials_study(trials, space, ["x"], "best_loss", Objective("loss", "max"))
    assert maximize.direction.name == "MAXIMIZE"


def test_fanova_rates_a_power_of_two_on_its_log_scale() -> None:
    trials, space = _trials()
    result = importances(trials, space, "loss")
    assert result.values["units"] > 0.6 > result.values["x"], result.values
