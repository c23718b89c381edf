"""The Pareto front of a multi-objective sweep, drawn: the first two objectives of every trial.

Which trials are on the front is decided when trials.parquet is written (its ``pareto`` column,
``caviar.results.pareto``); this figure only draws it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from caviar.analysis.scales import BEST_COLORS, layout


def pareto(trials_df: pd.DataFrame, objectives: Sequence[tuple[str, str]]) -> go.Figure:
    """The first two objectives of every trial, the Pareto front (the ``pareto`` column) joined.

    Each axis is an objective's last value, as trials.parquet holds it; the front's trials are
    named in their hover text. With more than two objectives the front is over all of them, and
    some of its points may look dominated in this projection.
    """
    (x_name, x_mode), (y_name, y_mode) = objectives[0], objectives[1]
    frame = trials_df.copy()
    frame[x_name] = pd.to_numeric(frame[x_name], errors="coerce")
    frame[y_name] = pd.to_numeric(frame[y_name], errors="coerce")
    on_front = (
        frame["pareto"].fillna(False).astype(bool)
        if "pareto" in frame
        else pd.Series(False, index=frame.index)
    )
    front = frame[on_front].sort_values(x_name)
    rest = frame[~on_front]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=rest[x_name],
            y=rest[y_name],
            mode="markers",
            marker={"color": "#bbbbbb", "size": 7},
            name="dominated",
            text=rest["trial_id"],
            hovertemplate="%{text}<br>%{x:.4g}, %{y:.4g}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=front[x_name],
            y=front[y_name],
            mode="lines+markers",
            line={"shape": "hv", "color": BEST_COLORS[0]},
            marker={"color": BEST_COLORS[0], "size": 9},
            name=f"Pareto front ({len(front)} trials)",
            text=front["trial_id"],
            hovertemplate="%{text}<br>%{x:.4g}, %{y:.4g}<extra></extra>",
        )
    )
    fig = layout(fig, f"Pareto front: {x_name} ({x_mode}) vs {y_name} ({y_mode})")
    fig.update_xaxes(title_text=f"{x_name} ({x_mode})")
    fig.update_yaxes(title_text=f"{y_name} ({y_mode})")
    return fig
