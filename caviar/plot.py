"""Figures of a sweep for notebooks and for ``caviar report``: plotly Figures from caviar's frames.

Every function takes the frames that ``caviar.read_trials`` / ``caviar.read_curves`` return. The
scale of each hyperparameter comes from the search space stored with the results (pass ``space``,
e.g. ``load_sweep(path).space``), never from the values: a ``loguniform`` parameter gets a log
axis, a ``reverse_loguniform`` one is shown as ``1 - x`` on a log axis, a choice as a strip.

>>> from caviar.plot import load_sweep, curves, param
>>> sweep = load_sweep("results/demo")                          # doctest: +SKIP
>>> curves(sweep.curves, sweep.trials, metric=sweep.metric)     # doctest: +SKIP
>>> param(sweep.trials, "lr", space=sweep.space, metric=sweep.metric)   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from caviar.results.importance import Importance, importances
from caviar.results.ranking import Mode, check_mode, metric_column, ranked, searched_params
from caviar.search_spaces import Choice, Constant, Distribution, Float, Integer, Space

__all__ = [
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
    "searched_params",
    "stopped_early",
]

AxisKind = Literal["linear", "log", "reverse_log", "category"]
COLORSCALE = "Viridis"
BEST_COLORS = ("#d62728", "#ff7f0e", "#e377c2", "#8c564b", "#17becf", "#bcbd22", "#1f77b4")
# Curves are drawn as a handful of traces (one per color band), each a polyline with NaN gaps.
COLOR_BANDS = 12
MAX_POINTS_PER_CURVE = 100
FONT = {"family": "Helvetica, Arial, sans-serif", "size": 13}


@dataclass(frozen=True)
class SweepData:
    """What the figures need from one sweep: its tables, its space, its metric and mode."""

    name: str
    trials: pd.DataFrame
    curves: pd.DataFrame
    space: Space
    metric: str
    mode: Mode
    spec: dict[str, Any]


def load_sweep(path: str) -> SweepData:
    """Read a sweep directory (local or s3://): trials, curves and the spec stored with them."""
    import yaml

    from caviar.results.readers import read_curves, read_trials
    from caviar.results.store import SPEC_FILE, SweepStore

    store = SweepStore.at(path)
    if not store.exists(SPEC_FILE):
        raise FileNotFoundError(f"no caviar sweep at {path} ({SPEC_FILE} not found)")
    from caviar.results.pareto import spec_objectives

    spec = yaml.safe_load(store.read_text(SPEC_FILE)) or {}
    metric, mode = spec_objectives(spec)[0]  # a multi-objective sweep: the first objective
    if mode not in ("min", "max"):
        raise ValueError(f"mode: must be 'min' or 'max', got {mode!r}")
    return SweepData(
        name=str(spec.get("name") or path.rstrip("/").rsplit("/", 1)[-1]),
        trials=read_trials(path),
        curves=read_curves(path),
        space=Space.from_dict(spec.get("space") or {}),
        metric=metric,
        mode="max" if mode == "max" else "min",
        spec=spec,
    )


# Scales


def axis_kind(distribution: Distribution | None) -> AxisKind:
    """How a hyperparameter is drawn: on the scale of its distribution."""
    if isinstance(distribution, Float):
        return {"linear": "linear", "log": "log", "reverse_log": "reverse_log"}[distribution.scale]  # type: ignore[return-value]
    if isinstance(distribution, Integer):
        return "log" if distribution.log else "linear"
    if isinstance(distribution, Choice | Constant):
        return "category"
    return "linear"


def _kind_of(name: str, trials: pd.DataFrame, space: Space | None) -> AxisKind:
    if space is not None and name in space:
        return axis_kind(space[name])
    column = trials[name] if name in trials else pd.Series(dtype=float)
    return "linear" if pd.api.types.is_numeric_dtype(column) else "category"


def axis_values(values: pd.Series, kind: AxisKind) -> np.ndarray:
    """The values as plotted: ``1 - x`` for reverse_log, the values otherwise (NaN for missing)."""
    if kind == "category":
        return values.astype("string").fillna("(absent)").to_numpy(dtype=object)
    x = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    return 1.0 - x if kind == "reverse_log" else x


def axis_title(name: str, kind: AxisKind) -> str:
    return {
        "log": f"{name} (log scale)",
        "reverse_log": f"1 − {name} (log scale; left = {name} near 1)",
        "category": name,
        "linear": name,
    }[kind]


def _apply_axis(fig: go.Figure, kind: AxisKind, name: str, row: int | None = None) -> None:
    axis: dict[str, Any] = {"title_text": axis_title(name, kind)}
    if kind in ("log", "reverse_log"):
        axis.update(type="log", dtick=1, exponentformat="power")
    elif kind == "category":
        axis["type"] = "category"
    if row is None:
        fig.update_xaxes(**axis)
    else:
        fig.update_xaxes(**axis, row=row, col=1)


def _layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left"},
        template="plotly_white",
        font=FONT,
        height=height,
        margin={"l": 70, "r": 30, "t": 60, "b": 60},
    )
    return fig


# Learning curves


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
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per trial: (iterations, values) of ``metric``, sorted, at most ``max_points`` points."""
    data = (
        curves_df[["trial_id", "iteration", metric]]
        if metric in curves_df
        else pd.DataFrame(columns=["trial_id", "iteration", metric])
    )
    data = data[pd.to_numeric(data[metric], errors="coerce").notna()]
    data = data.sort_values(["trial_id", "iteration"], kind="stable")
    per_trial: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for trial_id, rows in data.groupby("trial_id", sort=False):
        x = rows["iteration"].to_numpy(dtype=float)
        y = rows[metric].to_numpy(dtype=float)
        keep = _downsample(x, max_points)
        per_trial[str(trial_id)] = (x[keep], y[keep])
    return per_trial


def final_values(
    per_trial: dict[str, tuple[np.ndarray, np.ndarray]],
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
    per_trial: dict[str, tuple[np.ndarray, np.ndarray]],
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
    mode = check_mode(mode)
    fig = go.Figure()
    title = f"Learning curves: {metric} of {len(per_trial)} trials"
    if not per_trial:
        fig.add_annotation(text="no results reported yet", showarrow=False, font={"size": 16})
        return _layout(fig, title)

    def points(members: list[str]) -> tuple[np.ndarray, np.ndarray]:
        if skeleton:
            return np.array([], dtype=np.float32), np.array([], dtype=np.float32)
        return _polyline([per_trial[t] for t in members])

    # Diverged trials must not wash out the colors of the rest: the scale ends at a high quantile.
    low, high = _color_range(final.to_numpy(dtype=float), mode)
    span = high - low or 1.0
    # Color bands by value: one trace per band, the colorbar drawn by an invisible marker trace.
    bands = ((final - low) / span * COLOR_BANDS).fillna(COLOR_BANDS - 1).astype(int)
    bands = bands.clip(0, COLOR_BANDS - 1)
    colors = _sample_colorscale(COLOR_BANDS)
    if mode == "max":
        colors = colors[::-1]
    for band in range(COLOR_BANDS):
        members = [str(t) for t in bands.index[bands == band]]
        if not members:
            continue
        x, y = points(members)
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
                "reversescale": mode == "max",
                "cmax": high,
                "colorscale": COLORSCALE,
                "showscale": True,
                "colorbar": {"title": {"text": f"best {metric}", "side": "right"}, "len": 0.8},
            },
            hoverinfo="skip",
            showlegend=False,
        )
    )
    ends = [t for t in per_trial if t in stopped]
    if ends:
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
    order = final.sort_values(ascending=(mode == "min")).index[: max(best, 0)]
    for rank, trial_id in enumerate(order):
        x, y = points([str(trial_id)]) if skeleton else per_trial[trial_id]
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
    top = max((float(x[-1]) for x, _ in per_trial.values() if len(x)), default=0.0)
    for rung in rung_marks:
        if rung < top:
            fig.add_vline(x=rung, line={"dash": "dot", "color": "#bbbbbb", "width": 1})
    fig.update_xaxes(title_text="iteration")
    values = np.concatenate([y for _, y in per_trial.values()]) if per_trial else np.zeros(0)
    _metric_axis(fig, values, metric, log_y)
    fig.update_layout(
        legend={
            "title": {"text": f"best {len(order)} ({mode} {metric}):"},
            "orientation": "h",
            "y": -0.18,
            "yanchor": "top",
        }
    )
    fig = _layout(fig, title, height=560)
    fig.update_layout(margin={"b": 110})
    return fig


def _color_range(values: np.ndarray, mode: Mode) -> tuple[float, float]:
    """The metric range the colors span: the best value to the 90th percentile towards the worst."""
    if mode == "min":
        return float(values.min()), float(np.quantile(values, 0.9))
    return float(np.quantile(values, 0.1)), float(values.max())


def _metric_axis(fig: go.Figure, values: np.ndarray, title: str, log: bool | None) -> None:
    """A log axis for a positive metric spanning more than a decade (losses that diverge)."""
    values = values[np.isfinite(values)]
    positive = bool(len(values)) and bool((values > 0).all())
    if log is None:
        log = positive and values.max() / values.min() > 10
    axis: dict[str, Any] = {"title_text": title}
    if log and positive:
        axis.update(type="log", exponentformat="power", dtick="D2")
    fig.update_yaxes(**axis)


def _sample_colorscale(n: int) -> list[str]:
    from plotly.colors import sample_colorscale

    return list(sample_colorscale(COLORSCALE, [i / max(n - 1, 1) for i in range(n)]))


# Rungs of early stopping


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
    return _layout(fig, "Trials reaching each iteration (early-stopping rungs dotted)", 380)


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


# Parameter effects


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
    kind = _kind_of(name, trials_df, space)
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
    if kind == "category":
        order = _category_order(space[name] if space and name in space else None, x)
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
    _apply_axis(fig, kind, name)
    _metric_axis(fig, y, column, None)
    fig.update_layout(legend={"orientation": "h", "y": -0.3, "yanchor": "top"})
    absent = len(scored) - len(present)
    note = f" ({absent} trials without it)" if absent else ""
    fig = _layout(fig, f"{column} vs {name}{note}", 400)
    fig.update_layout(margin={"b": 100})
    return fig


def _category_order(distribution: Distribution | None, values: np.ndarray) -> list[str]:
    seen = list(dict.fromkeys(str(v) for v in values))
    if isinstance(distribution, Choice):
        declared = [str(v) for v in distribution.values]
        return declared + [v for v in seen if v not in declared]
    return seen


# Parallel coordinates


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
        kind = _kind_of(name, trials_df, space)
        values = axis_values(best[name], kind)
        if kind == "category":
            order = _category_order(space[name] if space and name in space else None, values)
            codes = np.array([order.index(str(v)) for v in values], dtype=float)
            dimensions.append(
                {
                    "label": name,
                    "values": codes,
                    "tickvals": list(range(len(order))),
                    "ticktext": order,
                    "range": [-0.5, len(order) - 0.5],
                }
            )
        elif kind in ("log", "reverse_log"):
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
            dimensions.append(
                {
                    "label": label,
                    "values": np.where(np.isfinite(logs), logs, np.nan),
                    "tickvals": ticks,
                    "ticktext": [f"1e{int(t)}" for t in ticks],
                    "range": [lo, hi],
                }
            )
        else:
            dimensions.append({"label": name, "values": values})
    score = best[column].to_numpy(dtype=float)
    dimensions.append({"label": column, "values": score})
    fig = go.Figure(
        go.Parcoords(
            line={
                "color": score,
                "colorscale": COLORSCALE,
                "reversescale": mode == "max",
                "showscale": True,
                "colorbar": {"title": {"text": column, "side": "right"}},
            },
            dimensions=dimensions,
            labelangle=-15,
        )
    )
    fig = _layout(fig, f"Parallel coordinates: the best {len(best)} trials by {column}", 460)
    fig.update_layout(margin={"l": 80, "r": 60, "t": 110, "b": 40})
    return fig


# Importance


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
    return _layout(fig, title, max(260, 60 + 40 * len(items)))


# Coarse-to-fine rounds


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
        n for n in searched_params(trials_df, space) if _kind_of(n, trials_df, space) != "category"
    ]
    fig = make_subplots(rows=max(len(names), 1), cols=1, vertical_spacing=0.12)
    scored = ranked(trials_df, metric, mode)
    low, high = float(scored[column].min()), float(scored[column].max())
    for row, name in enumerate(names, start=1):
        kind = _kind_of(name, trials_df, space)
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
        _apply_axis(fig, kind, name, row=row)
        fig.update_yaxes(title_text="round", type="category", row=row, col=1)
    return _layout(
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


# Multi-objective


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
    fig = _layout(fig, f"Pareto front: {x_name} ({x_mode}) vs {y_name} ({y_mode})")
    fig.update_xaxes(title_text=f"{x_name} ({x_mode})")
    fig.update_yaxes(title_text=f"{y_name} ({y_mode})")
    return fig
