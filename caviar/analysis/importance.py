"""Hyperparameter importance of a sweep: fANOVA over the trials, each parameter on its scale.

The trials become an Optuna study (``optuna.trial.create_trial``) whose distributions come from
caviar's one Optuna mapping (``search_spaces`` ``to_optuna``): a loguniform is log, a
reverse_loguniform is ``1 - x`` on a log scale, a power of two is its exponent (so fANOVA splits
it on its log scale, as it was searched), and Optuna's ``FanovaImportanceEvaluator`` rates each
parameter's share of the metric's variance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

from caviar.analysis.ranking import check_mode, metric_column, ranked, searched_params
from caviar.analysis.scales import layout
from caviar.objective import Mode, Objective
from caviar.search_spaces import Space
from caviar.search_spaces.convert import to_optuna, to_optuna_value

if TYPE_CHECKING:
    import optuna

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
    distribution ``to_optuna`` gives it, in Optuna's coordinates. Conditional parameters (absent
    from some trials) are left out: fANOVA needs every parameter in every trial.
    """
    import optuna

    objective = Objective(metric, check_mode(mode))
    scored = ranked(trials_df, metric, objective.mode)
    column = metric_column(trials_df, metric)
    names = searched_params(scored, space)
    used = [n for n in names if len(scored) and scored[n].notna().all()]
    excluded = tuple(n for n in names if n not in used)
    used = [n for n in used if _varies(scored[n])]
    method = f"fANOVA (Optuna's FanovaImportanceEvaluator, {FANOVA_TREES} trees of depth ≤ {FANOVA_DEPTH})"
    if len(scored) < 4 or not used:
        return Importance({}, method, excluded)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = trials_study(scored, space, used, column, objective)
    evaluator = optuna.importance.FanovaImportanceEvaluator(
        n_trees=FANOVA_TREES, max_depth=FANOVA_DEPTH, seed=seed
    )
    values = optuna.importance.get_param_importances(study, evaluator=evaluator, normalize=True)
    return Importance({k: float(v) for k, v in values.items()}, method, excluded)


def trials_study(
    trials: pd.DataFrame,
    space: Space,
    names: Sequence[str],
    column: str,
    objective: Objective,
) -> optuna.Study:
    """The trials as an in-memory Optuna study over ``names``, valued by ``column``.

    Each parameter gets the distribution of caviar's one Optuna mapping (``to_optuna``) and its
    values in Optuna's coordinates (``to_optuna_value``): a power of two is its exponent, a
    reverse_loguniform ``1 - x``, so fANOVA sees each parameter on the scale it was searched on.
    Every trial must have every one of ``names``.
    """
    import optuna

    mapped = to_optuna(space)
    distributions = {n: mapped[n] for n in names}
    study = optuna.create_study(direction=objective.direction)
    for _, row in trials.iterrows():
        params = {n: to_optuna_value(space[n], row[n]) for n in names}
        study.add_trial(
            optuna.trial.create_trial(
                params=params, distributions=distributions, value=float(row[column])
            )
        )
    return study


def _varies(values: pd.Series) -> bool:
    return bool(values.astype("string").nunique() > 1)


def importance(
    trials_df: pd.DataFrame | Importance,
    space: Space | None = None,
    metric: str = "val_loss",
    mode: Mode = "min",
) -> go.Figure:
    """A bar chart of hyperparameter importance; the method is named in the title."""
    if isinstance(trials_df, Importance):
        result = trials_df
    else:
        if space is None:
            raise ValueError("space: importance needs the search space, got None")
        result = importances(trials_df, space, metric, mode)
    items = sorted(result.values.items(), key=lambda kv: kv[1])
    fig = go.Figure(
        go.Bar(
            x=[v for _, v in items],
            y=[k for k, _ in items],
            orientation="h",
            marker={"color": "#4c78a8"},
            text=[f"{v:.0%}" for _, v in items],
            textposition="outside",
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    if not items:
        fig.add_annotation(text="not enough trials yet", showarrow=False, font={"size": 16})
    fig.update_xaxes(title_text="share of the metric's variance", range=[0, 1.1], tickformat=".0%")
    note = f"; not rated (conditional): {', '.join(result.excluded)}" if result.excluded else ""
    title = f"Hyperparameter importance: {result.method}{note}"
    return layout(fig, title, max(260, 60 + 40 * len(items)))
