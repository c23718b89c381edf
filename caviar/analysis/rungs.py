"""Early stopping: how many trials reached each iteration, and the scheduler's rungs.

The rungs are computed by the function the scheduler itself uses (Ray's own brackets), from the
``scheduler:`` stored with the sweep resolved with the defaults it ran with (Ray's and caviar's),
so the report draws the rungs the sweep really had, whatever shorthand the spec used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from caviar.analysis.scales import layout
from caviar.search_spaces import Space


def rungs(
    trials_df: pd.DataFrame,
    milestones: Sequence[int] = (),
    curves_df: pd.DataFrame | None = None,
) -> go.Figure:
    """How many trials reached each iteration; ``milestones``: the scheduler's rungs, marked."""
    reached: pd.Series[Any]
    if "iterations" in trials_df and len(trials_df):
        reached = pd.to_numeric(trials_df["iterations"], errors="coerce").fillna(0).astype(int)
    elif curves_df is not None and len(curves_df):
        reached = curves_df.groupby("trial_id")["iteration"].max().astype(int)
    else:
        reached = pd.Series(np.zeros(0, dtype=int))
    top = int(reached.max()) if len(reached) else 0
    steps = np.arange(1, top + 1)
    counts = np.array([(reached >= s).sum() for s in steps])
    fig = go.Figure(
        go.Bar(
            x=steps,
            y=counts,
            marker={"color": "#4c78a8"},
            name="trials",
            hovertemplate="%{y} trials reached iteration %{x}<extra></extra>",
        )
    )
    for milestone in milestones:
        if milestone <= top:
            fig.add_vline(
                x=milestone,
                line={"dash": "dot", "color": "#d62728"},
                annotation_text=f"rung {milestone}: {(reached >= milestone).sum()}",
                annotation_position="top",
            )
    fig.update_xaxes(title_text="iteration", dtick=1 if top <= 30 else None)
    fig.update_yaxes(title_text="trials that reached it")
    return layout(fig, "Trials reaching each iteration (early-stopping rungs dotted)", 380)


def scheduler_spec(scheduler: Any, space: Space | None = None) -> dict[str, Any]:
    """A stored ``scheduler:`` in any form the spec accepts (``asha``, a mapping with or without
    options, absent), resolved with the defaults the sweep ran with."""
    from caviar.orchestrator.resolved import max_iterations, resolve_scheduler

    return resolve_scheduler(scheduler, None if space is None else max_iterations(space))


def milestones(scheduler: Any, space: Space | None = None) -> list[int]:
    """The rung iterations of a stored ``scheduler:``, computed by the function the scheduler
    itself uses (``orchestrator.schedulers.rung_milestones``, from Ray's own brackets)."""
    from caviar.orchestrator.schedulers import rung_milestones

    return rung_milestones(scheduler_spec(scheduler, space))
