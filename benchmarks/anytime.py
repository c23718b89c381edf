"""Anytime curves: the test accuracy of the best-by-validation model against wall time.

A run is every epoch any trial reported, each with its wall-clock time since the tool's process
was launched. At time t the selected model is the (trial, epoch) with the highest val_accuracy
reported by t (the earliest on ties), and the curve's value is that model's test accuracy: what a
user who stopped the tool at t and took its best model would get on held-out data. The test rows
never take part in selection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import band, figure, save_plot


@dataclass
class Run:
    """One tool in one mode at one seed: its reports (t, val_accuracy, test_accuracy) and wall."""

    mode: str
    seed: int
    wall_s: float  # the whole process, launch to exit
    reports: pd.DataFrame  # t (s since launch), val_accuracy, test_accuracy
    trials: int
    notes: list[str] = field(default_factory=list)
    # caviar's own test score of its best trial (trials.parquet's test_accuracy), where it has one
    caviar_test: float = float("nan")

    def selected(self) -> pd.DataFrame:
        """The staircase of the best-by-validation model: t, val_accuracy, test_accuracy."""
        rows = self.reports.sort_values("t", kind="stable")
        rows = rows[rows["val_accuracy"].notna()]
        best = rows["val_accuracy"].cummax()
        improved = rows["val_accuracy"] > best.shift(fill_value=-np.inf)
        return rows[improved.to_numpy()][["t", "val_accuracy", "test_accuracy"]]

    def at(self, times: np.ndarray) -> np.ndarray:
        """The selected model's test accuracy at each time (NaN before the first report)."""
        steps = self.selected()
        index = np.searchsorted(steps["t"].to_numpy(), times, side="right") - 1
        values = steps["test_accuracy"].to_numpy(dtype=float)
        if not len(values):
            return np.full(len(times), np.nan)
        return np.where(index >= 0, values[np.clip(index, 0, None)], np.nan)

    def test_at(self, t: float) -> float:
        return float(self.at(np.array([t]))[0])

    def final(self) -> float:
        """The test accuracy of the model selected at the end of the process."""
        return self.test_at(float("inf"))

    def first_report(self) -> float:
        """When the first epoch was reported, in seconds since launch (NaN: none was)."""
        return float(self.reports["t"].min()) if len(self.reports) else float("nan")

    def time_to(self, target: float) -> float:
        """The first time the selected model's test accuracy reaches ``target`` (NaN: never)."""
        steps = self.selected()
        hits = steps[steps["test_accuracy"] >= target]
        return float(hits["t"].iloc[0]) if len(hits) else float("nan")


def plot(runs: list[Run], title: str, end: float, plot_dir: Path, name: str) -> Path:
    """Every mode's mean anytime curve over seeds, with its min-max band."""
    grid = np.linspace(0, end, 300)
    fig, ax = figure(plot_dir, figsize=(9, 5.5))
    for mode in dict.fromkeys(r.mode for r in runs):
        stack = np.vstack([r.at(grid) for r in runs if r.mode == mode])
        if not np.isnan(stack).all():
            band(ax, grid, stack, mode)
    ax.set_xlabel("wall time since the tool's process was launched (s)")
    ax.set_ylabel("test accuracy of the best-by-validation model")
    ax.set_title(f"{title}: anytime test accuracy (mean over seeds, band: min-max)")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=8)
    return save_plot(fig, plot_dir, name)
