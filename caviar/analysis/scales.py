"""What every figure shares: each hyperparameter's axis on the scale of its distribution, the look.

The scale of a hyperparameter comes from the search space stored with the results, never from
the values: a ``loguniform`` parameter and a power of two get a log axis, a
``reverse_loguniform`` one is shown as ``1 - x`` on a log axis, a choice as a strip.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from caviar.search_spaces import Choice, Constant, Distribution, Float, Integer, Space

AxisKind = Literal["linear", "log", "reverse_log", "category"]
COLORSCALE = "Viridis"
BEST_COLORS = ("#d62728", "#ff7f0e", "#e377c2", "#8c564b", "#17becf", "#bcbd22", "#1f77b4")
FONT = {"family": "Helvetica, Arial, sans-serif", "size": 13}


def axis_kind(distribution: Distribution | None) -> AxisKind:
    """How a hyperparameter is drawn: on the scale of its distribution."""
    if isinstance(distribution, Float):
        return {"linear": "linear", "log": "log", "reverse_log": "reverse_log"}[distribution.scale]  # type: ignore[return-value]
    if isinstance(distribution, Integer):
        # Powers of a base (pow2) are evenly spread on a log scale, like a log integer.
        return "log" if distribution.log or distribution.base is not None else "linear"
    if isinstance(distribution, Choice | Constant):
        return "category"
    return "linear"


def kind_of(name: str, trials: pd.DataFrame, space: Space | None) -> AxisKind:
    """The axis of column ``name``: its distribution's scale; without one, linear or a strip."""
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
    """The axis title, saying the scale."""
    return {
        "log": f"{name} (log scale)",
        "reverse_log": f"1 − {name} (log scale; left = {name} near 1)",
        "category": name,
        "linear": name,
    }[kind]


def apply_axis(fig: go.Figure, kind: AxisKind, name: str, row: int | None = None) -> None:
    """Put the x axis (of subplot ``row``) on the scale ``kind``."""
    axis: dict[str, Any] = {"title_text": axis_title(name, kind)}
    if kind in ("log", "reverse_log"):
        axis.update(type="log", dtick=1, exponentformat="power")
    elif kind == "category":
        axis["type"] = "category"
    if row is None:
        fig.update_xaxes(**axis)
    else:
        fig.update_xaxes(**axis, row=row, col=1)


def layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    """Every figure's look: title, template, font, height, margins."""
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left"},
        template="plotly_white",
        font=FONT,
        height=height,
        margin={"l": 70, "r": 30, "t": 60, "b": 60},
    )
    return fig


def metric_axis(fig: go.Figure, values: np.ndarray, title: str, log: bool | None) -> None:
    """A log axis for a positive metric spanning more than a decade (losses that diverge)."""
    values = values[np.isfinite(values)]
    positive = bool(len(values)) and bool((values > 0).all())
    if log is None:
        log = positive and values.max() / values.min() > 10
    axis: dict[str, Any] = {"title_text": title}
    if log and positive:
        axis.update(type="log", exponentformat="power", dtick="D2")
    fig.update_yaxes(**axis)


def sample_colorscale(n: int) -> list[str]:
    """``n`` colors evenly spread over the colorscale."""
    from plotly.colors import sample_colorscale as sample

    return list(sample(COLORSCALE, [i / max(n - 1, 1) for i in range(n)]))


def category_order(distribution: Distribution | None, values: np.ndarray) -> list[str]:
    """A strip's order: a choice's declared values first, then any others as they come."""
    seen = list(dict.fromkeys(str(v) for v in values))
    if isinstance(distribution, Choice):
        declared = [str(v) for v in distribution.values]
        return declared + [v for v in seen if v not in declared]
    return seen
