"""The dashboard's figures, built by the same functions as ``caviar report`` (``caviar.analysis``).

The curves figure is sent as a skeleton (``curves_figure(skeleton=True)``): bands, colors,
best trials, stopped-early markers, rungs and axes as the report draws them, each trace naming its
trials in ``meta``, but no points; the page fills in the points it holds, so a live update carries
only new rows. The other figures (metric vs each hyperparameter, trials per iteration) are small
and sent whole when the trials table has changed.
"""

from __future__ import annotations

import json
from typing import Any

import plotly.io as pio

from caviar.analysis.curves import curves_figure, final_values, stopped_early
from caviar.analysis.params import param
from caviar.analysis.ranking import has_scores, searched_params
from caviar.analysis.rungs import milestones, rungs
from caviar.dashboard.source import SweepSource


def figures(source: SweepSource) -> dict[str, Any]:
    """Every figure of one sweep as plotly JSON, by id, in page order."""
    trials, metric, mode, space = source.trials, source.metric, source.mode, source.space
    per_trial = source.arrays()
    marks = milestones(source.spec.get("scheduler"), source.space)
    found = {
        "curves": curves_figure(
            per_trial,
            final_values(per_trial, trials, metric),
            stopped_early(trials),
            metric=metric,
            mode=mode,
            rung_marks=marks,
            skeleton=True,
        ),
    }
    if "status" in trials and len(trials):
        found["rungs"] = rungs(trials, marks, None)
        if has_scores(trials, metric):
            for name in searched_params(trials, space):
                found[f"param-{name}"] = param(trials, name, metric, space, mode)
    return {key: json.loads(pio.to_json(fig, validate=False)) for key, fig in found.items()}
