"""The dashboard's figures, built by the same functions as ``caviar report`` (``caviar.plot``).

The curves figure is sent as a skeleton (``plot.curves_figure(skeleton=True)``): bands, colors,
best trials, stopped-early markers, rungs and axes as the report draws them, each trace naming its
trials in ``meta``, but no points; the page fills in the points it holds, so a live update carries
only new rows. The other figures (metric vs each hyperparameter, trials per iteration) are small
and sent whole when the trials table has changed.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import plotly.io as pio

from caviar import plot
from caviar.dashboard.source import SweepSource


def _has_scores(trials: pd.DataFrame, metric: str) -> bool:
    try:
        column = plot.metric_column(trials, metric)
    except ValueError:
        return False
    return bool(pd.to_numeric(trials[column], errors="coerce").notna().any())


def figures(source: SweepSource) -> dict[str, Any]:
    """Every figure of one sweep as plotly JSON, by id, in page order."""
    trials, metric, mode, space = source.trials, source.metric, source.mode, source.space
    per_trial = source.arrays()
    rungs = plot.milestones(source.spec.get("scheduler"), source.space)
    found = {
        "curves": plot.curves_figure(
            per_trial,
            plot.final_values(per_trial, trials, metric),
            plot.stopped_early(trials),
            metric=metric,
            mode=mode,
            rung_marks=rungs,
            skeleton=True,
        ),
    }
    if "status" in trials and len(trials):
        found["rungs"] = plot.rungs(trials, rungs, None)
        if _has_scores(trials, metric):
            for name in plot.searched_params(trials, space):
                found[f"param-{name}"] = plot.param(trials, name, metric, space, mode)
    return {key: json.loads(pio.to_json(fig, validate=False)) for key, fig in found.items()}
