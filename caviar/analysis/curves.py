"""Learning curves of every trial, colored by value, the best named, early stops marked.

Curves are drawn as a handful of traces (one per color band), each a polyline with NaN gaps, with
at most ``MAX_POINTS_PER_CURVE`` points per trial: thousands of trials stay light. The live
dashboard sends the same figure as a skeleton (``curves_figure(skeleton=True)``) and fills in the
points it holds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from caviar.analysis.ranking import check_mode, metric_column
from caviar.analysis.scales import (
    BEST_COLORS,
    COLORSCALE,
    layout,
    metric_axis,
    sample_colorscale,
)
from caviar.objective import Mode, Objective

COLOR_BANDS = 12
MAX_POINTS_PER_CURVE = 100

PerTrial = dict[str, tuple[np.ndarray, np.ndarray]]


def _downsample(iterations: np.ndarray, cap: int) -> np.ndarray:
    """Indices of at most ``cap`` points, evenly spread, always keeping the first and the last."""
    if len(iterations) <= cap:
        return np.arange(len(iterations))
    return np.unique(np.linspace(0, len(iterations) - 1, cap).round().astype(int))


def _polyline(groups: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Many curves as one line with NaN gaps: one trace draws them all."""
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    gap = np.array([np.nan])
    for x, y in groups:
        xs += [x, gap]
        ys += [y, gap]
    if not xs:
        return np.array([], dtype=np.float32), np.array([], dtype=np.float32)
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.float32)


def curves(
    curves_df: pd.DataFrame,
    trials_df: pd.DataFrame | None = None,
    metric: str = "val_loss",
    mode: Mode = "min",
    best: int = 5,
    max_points: int = MAX_POINTS_PER_CURVE,
    log_y: bool | None = None,
    rung_marks: Sequence[int] = (),
) -> go.Figure:
    """Every trial's learning curve of ``metric``, colored by its final value, best ``best`` named.

    Trials stopped early (``stopped_early`` in ``trials_df``) end in a gray ×. Curves are drawn as
    a few traces (one per color band) with at most ``max_points`` points each, so thousands of
    trials stay light. ``log_y``: log axis for the metric (default: when it spans > 2 decades).
    ``rung_marks``: the scheduler's rungs (``milestones``), drawn as dotted vertical lines.
    """
    if max_points < 2:
        raise ValueError(f"max_points: must be >= 2, got {max_points}")
    per_trial = curve_arrays(curves_df, metric, max_points)
    return curves_figure(
        per_trial,
        final_values(per_trial, trials_df, metric),
        stopped_early(trials_df),
        metric=metric,
        mode=mode,
        best=best,
        log_y=log_y,
        rung_marks=rung_marks,
    )


def curve_arrays(
    curves_df: pd.DataFrame, metric: str, max_points: int = MAX_POINTS_PER_CURVE
) -> PerTrial:
    """Per trial: (iterations, values) of ``metric``, sorted, at most ``max_points`` points."""
    data = (
        curves_df[["trial_id", "iteration", metric]]
        if metric in curves_df
        else pd.DataFrame(columns=["trial_id", "iteration", metric])
    )
    data = data[pd.to_numeric(data[metric], errors="coerce").notna()]
    data = data.sort_values(["trial_id", "iteration"], kind="stable")
    per_trial: PerTrial = {}
    for trial_id, rows in data.groupby("trial_id", sort=False):
        x = rows["iteration"].to_numpy(dtype=float)
        y = rows[metric].to_numpy(dtype=float)
        keep = _downsample(x, max_points)
        per_trial[str(trial_id)] = (x[keep], y[keep])
    return per_trial


def final_values(
    per_trial: PerTrial,
    trials_df: pd.DataFrame | None,
    metric: str,
) -> pd.Series:
    """Each trial's value for coloring: its best metric from the trials table, else its last."""
    final = pd.Series({t: float(y[-1]) for t, (_, y) in per_trial.items()}, dtype=float)
    if trials_df is not None and len(trials_df) and f"best_{metric}" in trials_df and len(final):
        column = metric_column(trials_df, metric)
        known = trials_df.set_index("trial_id")[column].astype(float)
        final = known.reindex(final.index).fillna(final)
    return final


def stopped_early(trials_df: pd.DataFrame | None) -> set[str]:
    """The trials a scheduler (or a diverged metric) stopped early."""
    if trials_df is None or "stopped_early" not in trials_df:
        return set()
    mask = trials_df["stopped_early"].fillna(False).astype(bool)
    return {str(t) for t in trials_df.loc[mask, "trial_id"]}


def curves_figure(
    per_trial: PerTrial,
    final: pd.Series,
    stopped: set[str],
    metric: str = "val_loss",
    mode: Mode = "min",
    best: int = 5,
    log_y: bool | None = None,
    rung_marks: Sequence[int] = (),
    skeleton: bool = False,
) -> go.Figure:
    """The learning-curves figure from per-trial arrays (``curve_arrays``) and their values.

    Every curve trace names its trials in ``meta.trials`` (``meta.ends`` for the stopped-early
    markers). ``skeleton``: leave the traces' points out, for a page that holds the points itself
    and fills them in (the live dashboard); colors, bands, best trials and axes are the same.
    """
    objective = Objective(metric, check_mode(mode))
    fig = go.Figure()
    title = f"Learning curves: {metric} of {len(per_trial)} trials"
    if not per_trial:
        fig.add_annotation(text="no results reported yet", showarrow=False, font={"size": 16})
        return layout(fig, title)
    _add_bands(fig, per_trial, final, objective, skeleton)
    _add_stops(fig, per_trial, stopped, skeleton)
    order = final.sort_values(ascending=objective.ascending).index[: max(best, 0)]
    _add_best(fig, per_trial, final, list(order), metric, skeleton)
    top = max((float(x[-1]) for x, _ in per_trial.values() if len(x)), default=0.0)
    for rung in rung_marks:
        if rung < top:
            fig.add_vline(x=rung, line={"dash": "dot", "color": "#bbbbbb", "width": 1})
    fig.update_xaxes(title_text="iteration")
    values = np.concatenate([y for _, y in per_trial.values()]) if per_trial else np.zeros(0)
    metric_axis(fig, values, metric, log_y)
    fig.update_layout(
        legend={
            "title": {"text": f"best {len(order)} ({mode} {metric}):"},
            "orientation": "h",
            "y": -0.18,
            "yanchor": "top",
        }
    )
    fig = layout(fig, title, height=560)
    fig.update_layout(margin={"b": 110})
    return fig


def _points(
    per_trial: PerTrial, members: list[str], skeleton: bool
) -> tuple[np.ndarray, np.ndarray]:
    if skeleton:
        return np.array([], dtype=np.float32), np.array([], dtype=np.float32)
    return _polyline([per_trial[t] for t in members])


def _add_bands(
    fig: go.Figure, per_trial: PerTrial, final: pd.Series, objective: Objective, skeleton: bool
) -> None:
    """One trace per color band of final values, and the colorbar (an invisible marker trace)."""
    # Diverged trials must not wash out the colors of the rest: the scale ends at a high quantile.
    low, high = _color_range(final.to_numpy(dtype=float), objective)
    span = high - low or 1.0
    bands = ((final - low) / span * COLOR_BANDS).fillna(COLOR_BANDS - 1).astype(int)
    bands = bands.clip(0, COLOR_BANDS - 1)
    colors = sample_colorscale(COLOR_BANDS)
    if objective.maximize:
        colors = colors[::-1]
    for band in range(COLOR_BANDS):
        members = [str(t) for t in bands.index[bands == band]]
        if not members:
            continue
        x, y = _points(per_trial, members, skeleton)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines",
                line={"color": colors[band], "width": 1},
                opacity=0.55,
                hoverinfo="skip",
                showlegend=False,
                meta={"trials": members},
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            marker={
                "color": [low],
                "cmin": low,
                "reversescale": objective.maximize,
                "cmax": high,
                "colorscale": COLORSCALE,
                "showscale": True,
                "colorbar": {
                    "title": {"text": f"best {objective.metric}", "side": "right"},
                    "len": 0.8,
                },
            },
            hoverinfo="skip",
            showlegend=False,
        )
    )


def _add_stops(fig: go.Figure, per_trial: PerTrial, stopped: set[str], skeleton: bool) -> None:
    """A gray × where each trial stopped early ended."""
    ends = [t for t in per_trial if t in stopped]
    if not ends:
        return
    fig.add_trace(
        go.Scatter(
            x=[] if skeleton else np.array([per_trial[t][0][-1] for t in ends], np.float32),
            y=[] if skeleton else np.array([per_trial[t][1][-1] for t in ends], np.float32),
            mode="markers",
            marker={"symbol": "x-thin", "size": 7, "line": {"width": 1.5, "color": "gray"}},
            name=f"stopped early ({len(ends)})",
            text=[] if skeleton else ends,
            hovertemplate="%{text}: stopped at iteration %{x}<extra></extra>",
            meta={"ends": ends},
        )
    )


def _add_best(
    fig: go.Figure,
    per_trial: PerTrial,
    final: pd.Series,
    order: list[str],
    metric: str,
    skeleton: bool,
) -> None:
    """The best trials' curves, thick, named with their rank and value in the legend."""
    for rank, trial_id in enumerate(order):
        x, y = _points(per_trial, [str(trial_id)], True) if skeleton else per_trial[trial_id]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines",
                line={"color": BEST_COLORS[rank % len(BEST_COLORS)], "width": 2.5},
                name=f"#{rank + 1} {trial_id}: {final[trial_id]:.4g}",
                hovertemplate=f"{trial_id}<br>iteration %{{x}}<br>{metric} %{{y:.4g}}<extra></extra>",
                meta={"trials": [str(trial_id)]},
            )
        )


def _color_range(values: np.ndarray, objective: Objective) -> tuple[float, float]:
    """The metric range the colors span: the best value to the 90th percentile towards the worst."""
    if objective.maximize:
        return float(np.quantile(values, 0.1)), float(values.max())
    return float(values.min()), float(np.quantile(values, 0.9))
