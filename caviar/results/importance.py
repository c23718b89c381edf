"""Hyperparameter importance of a sweep: fANOVA over the trials, each parameter on its scale.

The trials become an Optuna study (``optuna.trial.create_trial``) whose distributions are those of
caviar's space (log for loguniform, ``1 - x`` on a log scale for reverse_loguniform), and Optuna's
``FanovaImportanceEvaluator`` rates each parameter's share of the metric's variance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from caviar.results.ranking import Mode, check_mode, metric_column, ranked, searched_params
from caviar.search_spaces import Choice, Distribution, Float, Integer, Space

# Optuna's default forest (64 trees, depth 64) takes a minute on 2,000 trials; depth 8 bounds the
# leaves (and the time, ~2 s) whatever the trial count, with the same ranking on our tests.
FANOVA_TREES, FANOVA_DEPTH = 32, 8


@dataclass(frozen=True)
class Importance:
    """Importance of each hyperparameter for the metric, the method that measured it, what it left out."""

    values: dict[str, float]
    method: str
    excluded: tuple[str, ...] = ()


def importances(
    trials_df: pd.DataFrame,
    space: Space,
    metric: str = "val_loss",
    mode: Mode = "min",
    seed: int = 0,
) -> Importance:
    """fANOVA importance (Optuna's ``FanovaImportanceEvaluator``) of the searched parameters.

    The trials become an Optuna study (``optuna.trial.create_trial``), each parameter with the
    distribution of its scale; ``1 - x`` on a log scale for reverse_loguniform. Conditional
    parameters (absent from some trials) are left out: fANOVA needs every parameter in every trial.
    """
    import optuna

    mode = check_mode(mode)
    scored = ranked(trials_df, metric, mode)
    column = metric_column(trials_df, metric)
    names = searched_params(scored, space)
    used = [n for n in names if len(scored) and scored[n].notna().all()]
    excluded = tuple(n for n in names if n not in used)
    used = [n for n in used if _varies(scored[n])]
    method = f"fANOVA (Optuna's FanovaImportanceEvaluator, {FANOVA_TREES} trees of depth ≤ {FANOVA_DEPTH})"
    if len(scored) < 4 or not used:
        return Importance({}, method, excluded)
    distributions = {n: _optuna_distribution(space[n]) for n in used}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize" if mode == "min" else "maximize")
    for _, row in scored.iterrows():
        params = {n: _optuna_value(space[n], row[n]) for n in used}
        study.add_trial(
            optuna.trial.create_trial(
                params=params, distributions=distributions, value=float(row[column])
            )
        )
    evaluator = optuna.importance.FanovaImportanceEvaluator(
        n_trees=FANOVA_TREES, max_depth=FANOVA_DEPTH, seed=seed
    )
    values = optuna.importance.get_param_importances(study, evaluator=evaluator, normalize=True)
    return Importance({k: float(v) for k, v in values.items()}, method, excluded)


def _varies(values: pd.Series) -> bool:
    return bool(values.astype("string").nunique() > 1)


def _optuna_distribution(distribution: Distribution) -> Any:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if isinstance(distribution, Float):
        if distribution.scale == "reverse_log":
            return FloatDistribution(1 - distribution.high, 1 - distribution.low, log=True)
        return FloatDistribution(
            distribution.low, distribution.high, log=distribution.scale == "log"
        )
    if isinstance(distribution, Integer):
        if distribution.log:
            return IntDistribution(distribution.low, distribution.high, log=True)
        return IntDistribution(distribution.low, distribution.high, step=distribution.step)
    if isinstance(distribution, Choice):
        return CategoricalDistribution([str(v) for v in distribution.values])
    raise ValueError(f"distribution: cannot rate importance of {distribution!r}")


def _optuna_value(distribution: Distribution, value: Any) -> Any:
    if isinstance(distribution, Float):
        return 1 - float(value) if distribution.scale == "reverse_log" else float(value)
    if isinstance(distribution, Integer):
        return int(value)
    return str(value)
