"""The metric against the hyperparameters, each on its own scale: one at a time, all at once
(parallel coordinates over the best trials), and where each coarse-to-fine round sampled."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from caviar.analysis.ranking import check_mode, metric_column, ranked, searched_params
from caviar.analysis.scales import (
    COLORSCALE,
    AxisKind,
    apply_axis,
    axis_values,
    category_order,
    kind_of,
    layout,
    metric_axis,
)
from caviar.objective import Mode, Objective
from caviar.search_spaces import Distribution, Space


def param(
    trials_df: pd.DataFrame,
    name: str,
    metric: str = "val_loss",
    space: Space | None = None,
    mode: Mode = "min",
    best: int = 5,
) -> go.Figure:
    """The metric of every trial against one hyperparameter, on the hyperparameter's own scale.

    ``space`` gives the scale (log axis for loguniform, ``1 - x`` on a log axis for
    reverse_loguniform, a strip per value for a choice); without it numbers are linear.
    """
    mode = check_mode(mode)
    if name not in trials_df:
        raise ValueError(f"name: no column {name!r} in the trials table")
    kind = kind_of(name, trials_df, space)
    scored = ranked(trials_df, metric, mode)
    column = metric_column(trials_df, metric)
    present = scored[scored[name].notna()]
    x = axis_values(present[name], kind)
    y = present[column].to_numpy(dtype=float)
    stopped = (
        present["stopped_early"].fillna(False).astype(bool).to_numpy()
        if "stopped_early" in present
        else np.zeros(len(present), dtype=bool)
    )
    fig = go.Figure()
    ids = present["trial_id"].astype(str).to_numpy()
    hover = f"%{{text}}<br>{name} %{{customdata}}<br>{column} %{{y:.4g}}<extra></extra>"
    raw = present[name].astype("string").to_numpy(dtype=object)
    distribution = space[name] if space is not None and name in space else None
    _trial_traces(fig, kind, distribution, x, y, stopped, ids, raw, hover)
    top = min(best, len(present))
    if top:
        fig.add_trace(
            go.Scatter(
                x=x[:top],
                y=y[:top],
                mode="markers",
                marker={
                    "size": 11,
                    "symbol": "star",
                    "color": "#d62728",
                    "line": {"width": 1, "color": "white"},
                },
                name=f"best {top}",
                text=ids[:top],
                customdata=raw[:top],
                hovertemplate=hover,
            )
        )
    apply_axis(fig, kind, name)
    metric_axis(fig, y, column, None)
    fig.update_layout(legend={"orientation": "h", "y": -0.3, "yanchor": "top"})
    absent = len(scored) - len(present)
    note = f" ({absent} trials without it)" if absent else ""
    fig = layout(fig, f"{column} vs {name}{note}", 400)
    fig.update_layout(margin={"b": 100})
    return fig


def _trial_traces(
    fig: go.Figure,
    kind: AxisKind,
    distribution: Distribution | None,
    x: np.ndarray,
    y: np.ndarray,
    stopped: np.ndarray,
    ids: np.ndarray,
    raw: np.ndarray,
    hover: str,
) -> None:
    """Every trial as a point: a strip per value of a category, else ran-to-the-end and stopped."""
    if kind == "category":
        order = category_order(distribution, x)
        fig.add_trace(
            go.Box(
                x=x,
                y=y,
                boxpoints="all",
                jitter=0.5,
                pointpos=0,
                marker={"size": 5, "color": "#4c78a8", "opacity": 0.6},
                line={"color": "#9fb6d0"},
                fillcolor="rgba(0,0,0,0)",
                name="trials",
                text=ids,
                customdata=raw,
                hovertemplate=hover,
                showlegend=False,
            )
        )
        fig.update_xaxes(categoryorder="array", categoryarray=order)
    else:
        for label, mask, color in (
            ("ran to the end", ~stopped, "#4c78a8"),
            ("stopped early", stopped, "#b0b0b0"),
        ):
            if mask.any():
                fig.add_trace(
                    go.Scatter(
                        x=x[mask],
                        y=y[mask],
                        mode="markers",
                        marker={"size": 6, "color": color, "opacity": 0.75},
                        name=label,
                        text=ids[mask],
                        customdata=raw[mask],
                        hovertemplate=hover,
                    )
                )


def parallel(
    trials_df: pd.DataFrame,
    space: Space | None,
    metric: str = "val_loss",
    mode: Mode = "min",
    top: int = 50,
    params: Sequence[str] | None = None,
) -> go.Figure:
    """Parallel coordinates over the ``top`` best trials: each axis on its parameter's scale."""
    mode = check_mode(mode)
    names = list(params) if params is not None else searched_params(trials_df, space)
    best = ranked(trials_df, metric, mode).head(top)
    column = metric_column(trials_df, metric)
    dimensions = []
    for name in names:
        kind = kind_of(name, trials_df, space)
        values = axis_values(best[name], kind)
        distribution = space[name] if space is not None and name in space else None
        dimensions.append(_dimension(name, kind, distribution, values))
    score = best[column].to_numpy(dtype=float)
    dimensions.append({"label": column, "values": score})
    fig = go.Figure(
        go.Parcoords(
            line={
                "color": score,
                "colorscale": COLORSCALE,
                "reversescale": Objective(column, mode).maximize,
                "showscale": True,
                "colorbar": {"title": {"text": column, "side": "right"}},
            },
            dimensions=dimensions,
            labelangle=-15,
        )
    )
    fig = layout(fig, f"Parallel coordinates: the best {len(best)} trials by {column}", 460)
    fig.update_layout(margin={"l": 80, "r": 60, "t": 110, "b": 40})
    return fig


def _dimension(
    name: str, kind: AxisKind, distribution: Distribution | None, values: np.ndarray
) -> dict[str, Any]:
    """One parallel-coordinates axis: category codes, log10 with decade ticks, or the values."""
    if kind == "category":
        order = category_order(distribution, values)
        codes = np.array([order.index(str(v)) for v in values], dtype=float)
        return {
            "label": name,
            "values": codes,
            "tickvals": list(range(len(order))),
            "ticktext": order,
            "range": [-0.5, len(order) - 0.5],
        }
    if kind in ("log", "reverse_log"):
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log10(values)
        finite = logs[np.isfinite(logs)]
        lo, hi = (
            (float(np.floor(finite.min())), float(np.ceil(finite.max())))
            if len(finite)
            else (0.0, 1.0)
        )
        ticks = list(np.arange(lo, hi + 1))
        label = f"1 − {name} (log)" if kind == "reverse_log" else f"{name} (log)"
        return {
            "label": label,
            "values": np.where(np.isfinite(logs), logs, np.nan),
            "tickvals": ticks,
            "ticktext": [f"1e{int(t)}" for t in ticks],
            "range": [lo, hi],
        }
    return {"label": name, "values": values}


def rounds(
    trials_df: pd.DataFrame,
    space: Space | None,
    metric: str = "val_loss",
    mode: Mode = "min",
) -> go.Figure:
    """Where each round of a coarse-to-fine search sampled: one row per numeric parameter."""
    mode = check_mode(mode)
    if "round" not in trials_df:
        raise ValueError("trials_df: no 'round' column (not a coarse_to_fine sweep)")
    column = metric_column(trials_df, metric)
    names = [
        n for n in searched_params(trials_df, space) if kind_of(n, trials_df, space) != "category"
    ]
    fig = make_subplots(rows=max(len(names), 1), cols=1, vertical_spacing=0.12)
    scored = ranked(trials_df, metric, mode)
    low, high = float(scored[column].min()), float(scored[column].max())
    for row, name in enumerate(names, start=1):
        kind = kind_of(name, trials_df, space)
        present = scored[scored[name].notna()]
        fig.add_trace(
            go.Scatter(
                x=axis_values(present[name], kind),
                y=_round_labels(present["round"]),
                mode="markers",
                marker={
                    "color": present[column].to_numpy(dtype=float),
                    "cmin": low,
                    "cmax": high,
                    "colorscale": COLORSCALE,
                    "showscale": row == 1,
                    "colorbar": {"title": {"text": column, "side": "right"}},
                    "size": 7,
                    "opacity": 0.8,
                },
                showlegend=False,
                hovertemplate=f"{name} %{{x:.4g}}<br>round %{{y}}<extra></extra>",
            ),
            row=row,
            col=1,
        )
        apply_axis(fig, kind, name, row=row)
        fig.update_yaxes(title_text="round", type="category", row=row, col=1)
    return layout(
        fig, "Coarse-to-fine: the range each round sampled", 220 * max(len(names), 1) + 80
    )


def _round_labels(values: pd.Series) -> list[str]:
    """Round numbers as text ("1", not "1.0": a column with nulls is stored as float)."""
    labels = []
    for value in values:
        number = pd.to_numeric(value, errors="coerce")
        labels.append(
            str(int(number)) if pd.notna(number) and float(number).is_integer() else str(value)
        )
    return labels
