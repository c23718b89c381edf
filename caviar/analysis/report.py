"""``caviar report``: one self-contained HTML page about a sweep, finished or still running.

The page embeds plotly.js inline (it opens without a network) and holds the figures of
``caviar.analysis`` (``caviar.plot`` in a notebook): learning curves, early-stopping rungs, the metric against each hyperparameter on
its own scale (taken from the spec stored with the results), parallel coordinates over the best
trials, fANOVA importance, a table of the best trials and, for coarse-to-fine sweeps, each round's
zoom. It reads only Parquet, so a sweep that is still running shows what has landed so far.
"""

from __future__ import annotations

import html
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from caviar.analysis.curves import curves
from caviar.analysis.importance import importance, importances
from caviar.analysis.params import parallel, param, rounds
from caviar.analysis.pareto import pareto
from caviar.analysis.ranking import has_scores, metric_column, ranked, searched_params
from caviar.analysis.rungs import milestones, rungs, scheduler_spec
from caviar.analysis.sweep import SweepData, load_sweep

TOP_TABLE = 20
TOP_PARALLEL = 50

_STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1320px;
       color: #222; padding: 0 16px; }
h1 { font-size: 26px; margin-bottom: 4px; }
h2 { font-size: 19px; margin-top: 34px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.summary { color: #555; margin: 4px 0 14px 0; }
.note { color: #8a5a00; background: #fff6e0; padding: 6px 10px; border-radius: 4px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(600px, 1fr)); gap: 10px; }
.figure { border: 1px solid #eee; border-radius: 4px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eee; text-align: right; }
th { background: #f6f6f6; position: sticky; top: 0; }
td.id, th.id { text-align: left; font-family: monospace; }
"""


@dataclass(frozen=True)
class ReportInfo:
    """What ``build_report`` wrote: where, how big, how long it took, which figures."""

    path: str
    size_bytes: int
    seconds: float
    figures: tuple[str, ...]
    trials: int


def default_output(sweep_dir: str) -> str:
    """Where the report goes by default: next to the results for a local sweep, else ./."""
    if "://" in sweep_dir and not sweep_dir.startswith("file://"):
        name = sweep_dir.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        return f"{name}-report.html"
    return str(Path(sweep_dir.removeprefix("file://")) / "report.html")


def build_report(sweep_dir: str, output: str | Path) -> ReportInfo:
    """Read the sweep at ``sweep_dir`` and write its report to ``output`` (a file or a directory)."""
    started = time.perf_counter()
    sweep = load_sweep(sweep_dir)
    page, figures = render(sweep)
    target = Path(output)
    if target.is_dir():
        target = target / "report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(page, encoding="utf-8")
    temporary.replace(target)
    return ReportInfo(
        path=str(target),
        size_bytes=target.stat().st_size,
        seconds=time.perf_counter() - started,
        figures=tuple(figures),
        trials=len(sweep.trials),
    )


def figures(sweep: SweepData) -> dict[str, go.Figure]:
    """The report's figures by id, in page order (also handy in a notebook)."""
    trials, space, metric, mode = sweep.trials, sweep.space, sweep.metric, sweep.mode
    marks = milestones(sweep.spec.get("scheduler"), sweep.space)
    found: dict[str, go.Figure] = {
        "curves": curves(sweep.curves, trials, metric=metric, mode=mode, rung_marks=marks),
        "rungs": rungs(trials, marks, sweep.curves),
    }
    if has_scores(trials, metric):
        for name in searched_params(trials, space):
            found[f"param-{name}"] = param(trials, name, metric, space, mode)
        if searched_params(trials, space):
            found["parallel"] = parallel(trials, space, metric, mode, top=TOP_PARALLEL)
            found["importance"] = importance(importances(trials, space, metric, mode))
        if "round" in trials and trials["round"].notna().any():
            found["rounds"] = rounds(trials, space, metric, mode)
    objectives = [(o.metric, o.mode) for o in sweep.objectives]
    if len(objectives) > 1 and all(name in trials for name, _ in objectives[:2]):
        found["pareto"] = pareto(trials, objectives)
    return found


def render(sweep: SweepData) -> tuple[str, list[str]]:
    """The report page as text, and the ids of its figures."""
    figs = figures(sweep)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>caviar report: {html.escape(sweep.name)}</title>",
        f"<style>{_STYLE}</style>",
        f'<script type="text/javascript">{get_plotlyjs()}</script>',
        "</head><body>",
        f"<h1>Sweep {html.escape(sweep.name)}</h1>",
        f'<p class="summary">{_summary(sweep)}</p>',
    ]
    parts += _notes(sweep)
    sections = [
        ("Learning curves", ["curves"], _CURVES_HELP),
        ("Early stopping", ["rungs"], "How many trials the scheduler let run to each iteration."),
        (
            "Metric against each hyperparameter",
            [f for f in figs if f.startswith("param-")],
            "Each axis on the scale of the parameter's distribution in the stored spec.",
        ),
        ("Best trials", ["parallel"], ""),
        ("Importance", ["importance"], _IMPORTANCE_HELP),
        ("Coarse-to-fine rounds", ["rounds"], ""),
        ("Pareto front", ["pareto"], _PARETO_HELP),
    ]
    for title, ids, help_text in sections:
        present = [i for i in ids if i in figs]
        if not present:
            continue
        parts.append(f"<h2>{html.escape(title)}</h2>")
        if help_text:
            parts.append(f'<p class="summary">{help_text}</p>')
        grid = len(present) > 1
        if grid:
            parts.append('<div class="grid">')
        for figure_id in present:
            parts.append(_figure_html(figs[figure_id], figure_id))
        if grid:
            parts.append("</div>")
        if title == "Best trials":
            parts.append(_top_table(sweep))
    if "parallel" not in figs:
        parts.append("<h2>Best trials</h2>" + _top_table(sweep))
    parts.append("</body></html>")
    return "\n".join(parts), list(figs)


_CURVES_HELP = (
    "Every trial's curve, colored by its best value; the best are named in the legend, "
    "a gray × marks where the scheduler stopped a trial early."
)
_PARETO_HELP = (
    "A multi-objective sweep: each trial's last value of the first two objectives; the trials no "
    "other trial beats on every objective (the pareto column of trials.parquet) are joined."
)
_IMPORTANCE_HELP = (
    "Share of the metric's variance explained by each hyperparameter (fANOVA on a random forest, "
    "parameters on their search scales)."
)


def _figure_html(fig: go.Figure, figure_id: str) -> str:
    body = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"fig-{figure_id}",
        default_width="100%",
        config={"displaylogo": False, "responsive": True},
    )
    return f'<div class="figure" data-figure="{figure_id}">{body}</div>'


def _summary(sweep: SweepData) -> str:
    trials = sweep.trials
    counts = trials["status"].value_counts().to_dict() if "status" in trials else {}
    status = ", ".join(f"{n} {str(s).lower()}" for s, n in sorted(counts.items()))
    stopped = (
        int(trials["stopped_early"].fillna(False).astype(bool).sum())
        if "stopped_early" in trials
        else 0
    )
    items = [
        f"metric <b>{html.escape(sweep.metric)}</b> ({sweep.mode})",
        f"{len(trials)} trials" + (f" ({html.escape(status)})" if status else ""),
        f"{stopped} stopped early",
        f"{len(sweep.curves)} reported results",
    ]
    best = ranked(trials, sweep.metric, sweep.mode) if has_scores(trials, sweep.metric) else None
    if best is not None and len(best):
        column = metric_column(trials, sweep.metric)
        trial_id = html.escape(str(best.iloc[0]["trial_id"]))
        items.append(
            f"best {html.escape(sweep.metric)} <b>{best.iloc[0][column]:.4g}</b> (trial {trial_id})"
        )
    search = sweep.spec.get("search") or {}
    scheduler = scheduler_spec(sweep.spec.get("scheduler"))
    items.append(
        f"search {html.escape(str(search.get('algorithm', 'random')))}, "
        f"scheduler {html.escape(str(scheduler.get('name', 'fifo')))}"
    )
    return " · ".join(items)


def _notes(sweep: SweepData) -> list[str]:
    trials, curves = sweep.trials, sweep.curves
    notes = []
    running = int((trials["status"] == "RUNNING").sum()) if "status" in trials else 0
    without = len(set(trials["trial_id"]) - set(curves["trial_id"])) if len(trials) else 0
    if running or without:
        notes.append(
            f"Still running: {running} trials running, {without} without a reported result yet; "
            "this page shows what had landed when it was built."
        )
    return [f'<p class="note">{html.escape(n)}</p>' for n in notes]


def _top_table(sweep: SweepData) -> str:
    trials = sweep.trials
    if not has_scores(trials, sweep.metric):
        return '<p class="summary">No trial has reported the metric yet.</p>'
    column = metric_column(trials, sweep.metric)
    best = ranked(trials, sweep.metric, sweep.mode).head(TOP_TABLE)
    params = [n for n in sweep.space if n in trials]
    extra = [c for c in ("iterations", "stopped_early", "status", "pareto") if c in trials]
    columns = ["trial_id", column, *params, *extra]
    head = "".join(
        f'<th class="{"id" if c == "trial_id" else ""}">{html.escape(c)}</th>'
        for c in ["#", *columns]
    )
    rows = []
    for rank, (_, row) in enumerate(best.iterrows(), start=1):
        cells = [f"<td>{rank}</td>"]
        for c in columns:
            css = ' class="id"' if c == "trial_id" else ""
            cells.append(f"<td{css}>{html.escape(_cell(row[c]))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    title = (
        f"The best {len(best)} of {len(trials)} trials by {column} ({sweep.mode}) and their configs"
    )
    return (
        f'<p class="summary">{html.escape(title)}</p>'
        f'<table id="top-trials"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _cell(value: Any) -> str:
    if value is None or value is pd.NA:
        return "–"
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.4g}"
    return str(value)
