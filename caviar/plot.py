"""Figures of a sweep for notebooks and for ``caviar report``: plotly Figures from caviar's frames.

The public door to ``caviar.analysis``'s figures. Every function takes the frames that
``caviar.read_trials`` / ``caviar.read_curves`` return. The scale of each hyperparameter comes
from the search space stored with the results (pass ``space``, e.g. ``load_sweep(path).space``),
never from the values: a ``loguniform`` parameter (or a power of two) gets a log axis, a
``reverse_loguniform`` one is shown as ``1 - x`` on a log axis, a choice as a strip.

>>> from caviar.plot import load_sweep, curves, param
>>> sweep = load_sweep("results/demo")                          # doctest: +SKIP
>>> curves(sweep.curves, sweep.trials, metric=sweep.metric)     # doctest: +SKIP
>>> param(sweep.trials, "lr", space=sweep.space, metric=sweep.metric)   # doctest: +SKIP
"""

from __future__ import annotations

from caviar.analysis.curves import (
    COLOR_BANDS,
    MAX_POINTS_PER_CURVE,
    curve_arrays,
    curves,
    curves_figure,
    final_values,
    stopped_early,
)
from caviar.analysis.importance import Importance, importance, importances
from caviar.analysis.params import parallel, param, rounds
from caviar.analysis.pareto import pareto
from caviar.analysis.ranking import metric_column, ranked, searched_params
from caviar.analysis.rungs import milestones, rungs, scheduler_spec
from caviar.analysis.scales import axis_kind
from caviar.analysis.sweep import SweepData, load_sweep

__all__ = [
    "COLOR_BANDS",
    "MAX_POINTS_PER_CURVE",
    "Importance",
    "SweepData",
    "axis_kind",
    "curve_arrays",
    "curves",
    "curves_figure",
    "final_values",
    "importance",
    "importances",
    "load_sweep",
    "metric_column",
    "milestones",
    "parallel",
    "param",
    "pareto",
    "ranked",
    "rounds",
    "rungs",
    "scheduler_spec",
    "searched_params",
    "stopped_early",
]
