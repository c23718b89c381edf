"""Every example spec in examples/ parses, and the scikit-learn one runs."""

from __future__ import annotations

from pathlib import Path

import pytest

import caviar
from caviar.spec.load import load_spec
from caviar.tune.run import run_sweep

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_spec_parses(path: Path) -> None:
    spec = load_spec(path)
    assert spec.name and spec.space


def test_the_new_examples_are_there() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"ridge.yaml", "mlflow.yaml", "multi_objective.yaml"} <= names
    assert len(load_spec(EXAMPLES[0].parent / "multi_objective.yaml").objectives) == 2


@pytest.mark.xdist_group("ray")
def test_the_ridge_example_runs(ray_local: None, tmp_path: Path) -> None:
    """examples/ridge.yaml as written, on a 3-point slice of its grid (the 100 points: slow)."""
    path = EXAMPLES[0].parent / "ridge.yaml"
    spec = load_spec(path, [f"storage={tmp_path}", "space.alpha=grid(logspace(-4, 4, 3))"])
    outcome = run_sweep(spec, False)
    trials = caviar.read_trials(outcome.sweep_uri)
    assert outcome.trials == 3 and not outcome.errors
    assert trials["val_r2"].max() > 0.99  # noise 0.1 on a line: an almost perfect fit
    assert trials.sort_values("val_r2").iloc[-1]["alpha"] < 1  # less shrinkage wins
