"""caviar.analysis's figures (through caviar.plot, their public door): on the scales of the spec
stored with the results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from caviar import plot
from caviar.search_spaces import Space
from tests.results.report_data import write_sweep


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> plot.SweepData:
    return plot.load_sweep(write_sweep(tmp_path_factory.mktemp("plot"), trials=60))


def test_scales_come_from_the_stored_spec(sweep: plot.SweepData) -> None:
    assert sweep.space == Space.from_dict(sweep.spec["space"])
    lr = plot.param(sweep.trials, "lr", "loss", sweep.space)
    assert lr.layout.xaxis.type == "log"
    assert lr.layout.xaxis.title.text == "lr (log scale)"

    momentum = plot.param(sweep.trials, "momentum", "loss", sweep.space)
    assert momentum.layout.xaxis.type == "log"
    assert momentum.layout.xaxis.title.text.startswith("1 − momentum")
    plotted = np.sort(np.concatenate([np.asarray(t.x, dtype=float) for t in momentum.data[:2]]))
    expected = np.sort(1 - sweep.trials["momentum"].to_numpy(dtype=float))
    np.testing.assert_allclose(plotted, expected)

    units = plot.param(sweep.trials, "units", "loss", sweep.space)
    assert units.layout.xaxis.type in (None, "linear")

    opt = plot.param(sweep.trials, "opt", "loss", sweep.space)
    assert opt.layout.xaxis.type == "category"
    assert isinstance(opt.data[0], go.Box) and opt.data[0].boxpoints == "all"
    assert list(opt.layout.xaxis.categoryarray) == ["sgd", "adam"]


def test_without_a_space_nothing_is_guessed(sweep: plot.SweepData) -> None:
    fig = plot.param(sweep.trials, "lr", "loss")
    assert fig.layout.xaxis.type in (None, "linear")


def test_integer_log_is_a_log_axis() -> None:
    space = Space.from_dict({"units": "integer(1, 1000, log=True)"})
    trials = pd.DataFrame(
        {"trial_id": ["a", "b", "c"], "units": [1, 30, 900], "best_loss": [1.0, 0.5, 0.7]}
    )
    assert plot.param(trials, "units", "loss", space).layout.xaxis.type == "log"


def test_a_power_of_two_is_a_log_axis() -> None:
    space = Space.from_dict({"batch": "pow2(16, 1024)", "lr": "loguniform(1e-4, 1)"})
    trials = pd.DataFrame(
        {
            "trial_id": ["a", "b", "c"],
            "batch": [16, 128, 1024],
            "lr": [1e-3, 1e-2, 1e-1],
            "best_loss": [1.0, 0.5, 0.7],
        }
    )
    assert plot.axis_kind(space["batch"]) == "log"
    assert plot.param(trials, "batch", "loss", space).layout.xaxis.type == "log"
    dims = {d.label: d for d in plot.parallel(trials, space, "loss").data[0].dimensions}
    np.testing.assert_allclose(sorted(dims["batch (log)"].values), np.log10([16, 128, 1024]))


def test_curves_color_bands_best_named_and_stopped_marked(sweep: plot.SweepData) -> None:
    fig = plot.curves(sweep.curves, sweep.trials, metric="loss", best=3)
    names = [t.name for t in fig.data if t.name]
    ranked = plot.ranked(sweep.trials, "loss")
    assert [n.split(":")[0] for n in names if n.startswith("#")] == [
        f"#{i + 1} {tid}" for i, tid in enumerate(ranked["trial_id"].head(3))
    ]
    stopped = int(sweep.trials["stopped_early"].sum())
    assert f"stopped early ({stopped})" in names
    assert len(fig.data) <= plot.COLOR_BANDS + 1 + 1 + 3  # bands, colorbar, stops, best


def test_curves_are_downsampled() -> None:
    rows = [("a", i, 1.0 / i) for i in range(1, 1001)]
    frame = pd.DataFrame(rows, columns=["trial_id", "iteration", "loss"])
    fig = plot.curves(frame, metric="loss", best=1, max_points=50)
    assert len(fig.data[-1].x) == 50
    assert fig.data[-1].x[0] == 1 and fig.data[-1].x[-1] == 1000


def test_curves_of_nothing_yet() -> None:
    empty = pd.DataFrame({"trial_id": pd.Series([], dtype=str), "iteration": []})
    fig = plot.curves(empty, metric="loss")
    assert "no results" in fig.layout.annotations[0].text


def test_importance_finds_the_parameter_that_matters(sweep: plot.SweepData) -> None:
    result = plot.importances(sweep.trials, sweep.space, "loss")
    assert max(result.values, key=result.values.__getitem__) == "lr"
    assert "fANOVA" in result.method
    fig = plot.importance(result)
    assert "FanovaImportanceEvaluator" in fig.layout.title.text


def test_parallel_axes_on_log_scale(sweep: plot.SweepData) -> None:
    fig = plot.parallel(sweep.trials, sweep.space, "loss", top=10)
    dims = {d.label: d for d in fig.data[0].dimensions}
    assert set(dims) == {"lr (log)", "1 − momentum (log)", "units", "opt", "best_loss"}
    best = plot.ranked(sweep.trials, "loss").head(10)
    np.testing.assert_allclose(dims["lr (log)"].values, np.log10(best["lr"].to_numpy(float)))


def test_rungs_and_milestones(sweep: plot.SweepData) -> None:
    assert plot.milestones(
        {"name": "asha", "max_t": 12, "grace_period": 2, "reduction_factor": 3}
    ) == [2, 6]  # Ray's own rungs (_Bracket); max_t is no rung
    assert plot.milestones({"name": "fifo"}) == []
    fig = plot.rungs(sweep.trials, [2, 6, 20])
    counts = list(fig.data[0].y)
    assert counts[0] == len(sweep.trials) and counts == sorted(counts, reverse=True)
    assert counts[19] == int((sweep.trials["iterations"] == 20).sum())


def test_rounds_zoom(tmp_path: Path) -> None:
    data = plot.load_sweep(write_sweep(tmp_path, trials=30, rounds=3))
    fig = plot.rounds(data.trials, data.space, "loss")
    assert fig.layout.xaxis.type == "log"  # lr, the first numeric parameter
    assert set(fig.data[0].y) == {"0", "1", "2"}


def test_bad_arguments_name_the_parameter(sweep: plot.SweepData) -> None:
    with pytest.raises(ValueError, match="mode: must be 'min' or 'max', got 'best'"):
        plot.param(sweep.trials, "lr", "loss", sweep.space, mode="best")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="name: no column 'nope'"):
        plot.param(sweep.trials, "nope", "loss")
    with pytest.raises(ValueError, match="max_points: must be >= 2, got 1"):
        plot.curves(sweep.curves, metric="loss", max_points=1)


def test_mode_max_ranks_the_highest_first(sweep: plot.SweepData) -> None:
    trials = sweep.trials.assign(best_loss=-sweep.trials["best_loss"])
    fig = plot.curves(sweep.curves, trials, metric="loss", mode="max", best=1)
    best = trials.sort_values("best_loss", ascending=False)["trial_id"].iloc[0]
    assert fig.data[-1].name.startswith(f"#1 {best}")
    assert plot.parallel(trials, sweep.space, "loss", mode="max").data[0].line.reversescale


def test_trials_without_curves_yet(sweep: plot.SweepData) -> None:
    running = pd.DataFrame({"trial_id": ["new1", "new2"], "status": ["RUNNING", "PENDING"]})
    trials = pd.concat([sweep.trials, running], ignore_index=True)
    fig = plot.curves(sweep.curves, trials, metric="loss")
    assert fig.layout.title.text == f"Learning curves: loss of {len(sweep.trials)} trials"
    assert plot.param(trials, "lr", "loss", sweep.space).layout.xaxis.type == "log"
