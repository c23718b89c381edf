"""Multi-objective sweeps: ``metric: [a, b]``, ``mode: [min, min]``, a ``pareto`` column.

The front is checked against a non-dominated set computed here, from trials.parquet, by the
definition (no trial at least as good on both objectives and better on one), not by caviar's code.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from caviar.analysis.report import build_report
from caviar.results.pareto import non_dominated
from caviar.spec.parse import parse_spec
from caviar.tune.build import build_search
from caviar.tune.run import run_sweep
from tests.conftest import small_spec

pytestmark = pytest.mark.xdist_group("ray")


def front_by_definition(points: list[tuple[float, ...]], modes: list[str]) -> set[int]:
    """Indices of the points that no other point dominates (NaN points are never on it)."""
    signs = [1.0 if m == "min" else -1.0 for m in modes]
    keep = set()
    for i, p in enumerate(points):
        if any(v != v for v in p):
            continue
        dominated = False
        for j, q in enumerate(points):
            if i == j or any(v != v for v in q):
                continue
            no_worse = all(s * a <= s * b for s, a, b in zip(signs, q, p, strict=True))
            better = any(s * a < s * b for s, a, b in zip(signs, q, p, strict=True))
            dominated = dominated or (no_worse and better)
        if not dominated:
            keep.add(i)
    return keep


@pytest.mark.parametrize("modes", [["min", "min"], ["min", "max"], ["max", "max", "min"]])
def test_non_dominated_is_the_definition(modes: list[str]) -> None:
    rng = np.random.default_rng(len(modes) + (modes[1] == "max"))
    values = rng.integers(0, 5, size=(60, len(modes))).astype(float)  # many ties
    values[[3, 17]] = np.nan
    mask = non_dominated(values, modes)
    expected = front_by_definition([tuple(row) for row in values], modes)
    assert set(np.flatnonzero(mask)) == expected and expected


def spec(tmp_path: Path, algorithm: str, **search: Any) -> dict[str, Any]:
    return {
        "name": f"mo-{algorithm}",
        "trainable": "tests.tune.two_objectives:train",
        "metric": ["loss", "cost"],
        "mode": ["min", "min"],
        "space": {"x": "uniform(0, 1)", "y": "uniform(0, 1)", "epochs": 2},
        "search": {"algorithm": algorithm, "num_samples": 8, **search},
        "scheduler": {"name": "asha", "grace_period": 1},  # needs one metric: takes loss
        "seed": 3,
        "storage": str(tmp_path / "results"),
    }


def test_tpe_and_nsga2_get_both_objectives_and_schedulers_the_first(tmp_path: Path) -> None:
    from optuna.samplers import NSGAIISampler, TPESampler

    for algorithm, sampler in (("tpe", TPESampler), ("nsga2", NSGAIISampler)):
        parsed = parse_spec(spec(tmp_path, algorithm))
        assert parsed.metric == "loss" and parsed.mode == "min"
        assert parsed.objectives == (("loss", "min"), ("cost", "min"))
        searcher = build_search(parsed).algorithm
        assert searcher.metric == ["loss", "cost"] and searcher.mode == ["min", "min"]
        assert isinstance(searcher._sampler, sampler)


@pytest.mark.parametrize(
    ("algorithm", "options"),
    [
        ("nsga2", {"population_size": 4}),
        pytest.param("tpe", {"n_startup_trials": 3}, marks=pytest.mark.slow),
    ],
)
def test_the_pareto_column_is_the_non_dominated_set_of_trials_parquet(
    ray_local: None, tmp_path: Path, algorithm: str, options: dict[str, Any]
) -> None:
    """NSGA-II (and TPE) through OptunaSearch on both objectives, ASHA on the first; random and
    grid sweeps get the column the same way (the results callback computes it)."""
    outcome = run_sweep(parse_spec(spec(tmp_path, algorithm, **options)), False)
    assert outcome.trials == 8 and not outcome.errors
    trials = pd.read_parquet(Path(outcome.sweep_uri) / "trials.parquet")
    assert trials["pareto"].dtype == bool
    points = list(zip(trials["loss"], trials["cost"], strict=True))
    expected = {trials["trial_id"][i] for i in front_by_definition(points, ["min", "min"])}
    assert set(trials.loc[trials["pareto"], "trial_id"]) == expected
    assert 1 <= len(expected) < 8  # x and y are drawn at random: some trials are dominated
    info = build_report(outcome.sweep_uri, tmp_path / "report.html")
    assert "pareto" in info.figures
    page = (tmp_path / "report.html").read_text()
    assert f"Pareto front ({len(expected)} trials)" in page


def test_the_mlp_reports_n_params_as_an_objective() -> None:
    from caviar.trainables.data import DataSpec
    from caviar.trainables.mlp import train_mlp
    from tests.trainables.recording import RecordingContext

    data = DataSpec(n_samples=60, n_features=8, n_classes=3)
    for hidden in (4, 16):
        ctx = RecordingContext(data)
        train_mlp({"hidden_units": hidden, "layers": 1, "epochs": 2}, ctx)
        # 8 features, 3 classes: (8 + 1) * h + (h + 1) * 3 weights, every epoch.
        assert [r["n_params"] for r in ctx.reports] == [9 * hidden + (hidden + 1) * 3] * 2
    raw = small_spec(Path("."), metric=["val_loss", "n_params"], mode=["min", "min"])
    assert parse_spec(raw).objectives == (("val_loss", "min"), ("n_params", "min"))


def test_pairs_of_objectives_in_the_report_figure_are_the_first_two() -> None:
    from caviar.plot import pareto

    trials = pd.DataFrame(
        {
            "trial_id": list("abcd"),
            "a": [1.0, 2.0, 3.0, 2.5],
            "b": [3.0, 2.0, 1.0, 2.5],
            "pareto": [True, True, True, False],
        }
    )
    fig = pareto(trials, [("a", "min"), ("b", "min")])
    dominated, front = fig.data
    assert list(front.text) == ["a", "b", "c"] and list(dominated.text) == ["d"]
    assert list(itertools.chain(front.x)) == [1.0, 2.0, 3.0]
