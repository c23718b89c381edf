"""scikit-learn estimators as trainables: seed 004's Ridge sweep against GridSearchCV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_regression
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold

import caviar
from caviar.spec.parse import parse_spec
from caviar.trainables.data import DataSpec
from caviar.trainables.estimator import parameter_count, train_estimator
from caviar.tune.run import run_sweep

pytestmark = pytest.mark.xdist_group("ray")


def seed_004_data(tmp_path: Path) -> tuple[np.ndarray, np.ndarray, Path]:
    """Seed 004's data: make_regression(n_samples=100, n_features=1, noise=0.1), as a table."""
    x, y = make_regression(n_samples=100, n_features=1, noise=0.1, random_state=0)
    path = tmp_path / "ridge.parquet"
    pd.DataFrame({"x": x[:, 0], "y": y}).to_parquet(path)
    return x, y, path


def ridge_spec(tmp_path: Path, path: Path, points: int) -> dict[str, Any]:
    return {
        "name": f"ridge{points}",
        "trainable": "sklearn:sklearn.linear_model.Ridge",
        "data": {"path": str(path), "target": "y", "folds": 5, "seed": 0},
        "metric": "val_r2",
        "mode": "max",
        "space": {"alpha": f"grid(logspace(-4, 4, {points}))"},
        "search": {"algorithm": "grid", "num_samples": 1},
        "storage": str(tmp_path / "results"),
    }


def check_against_grid_search(tmp_path: Path, points: int) -> None:
    x, y, path = seed_004_data(tmp_path)
    outcome = run_sweep(parse_spec(ridge_spec(tmp_path, path, points)), False)
    assert outcome.trials == points and not outcome.errors
    trials = caviar.read_trials(outcome.sweep_uri)
    alphas = np.logspace(-4, 4, points)
    search = GridSearchCV(
        Ridge(), {"alpha": alphas}, cv=KFold(5, shuffle=True, random_state=0)
    ).fit(x, y)
    # Every alpha's cross-validated score, not only the winner's, is GridSearchCV's.
    by_alpha = trials.set_index("alpha")["val_r2"].sort_index()
    np.testing.assert_allclose(by_alpha.index, alphas, rtol=1e-15)
    np.testing.assert_allclose(
        by_alpha.to_numpy(), search.cv_results_["mean_test_score"], rtol=1e-12
    )
    best = trials.sort_values(["val_r2", "alpha"], ascending=[False, True]).iloc[0]
    assert best["alpha"] == search.best_params_["alpha"]
    assert best["val_r2"] == pytest.approx(search.best_score_, rel=1e-12)
    assert (trials["iterations"] == 1).all()  # Ridge fits in one step: one report
    assert (trials["n_params"] == 2).all()  # one coefficient and the intercept
    # No loggers: nothing but the Parquet tables (no TensorBoard or MLflow files).
    assert not list(Path(outcome.sweep_uri).rglob("events.out.tfevents.*"))
    assert not (Path(outcome.sweep_uri) / "tensorboard").exists()


def test_ridge_on_a_5_point_log_grid_finds_grid_search_cv_alpha(
    ray_local: None, tmp_path: Path
) -> None:
    check_against_grid_search(tmp_path, 5)


@pytest.mark.slow
def test_seed_004_ridge_on_logspace_100_finds_grid_search_cv_alpha(
    ray_local: None, tmp_path: Path
) -> None:
    check_against_grid_search(tmp_path, 100)


def _reports(name: str, config: dict[str, Any], data: DataSpec, scoring: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    reports: list[dict[str, Any]] = []
    train_estimator(name, scoring, config, data, lambda **m: reports.append(m))
    return reports


def test_partial_fit_estimators_report_every_epoch() -> None:
    data = DataSpec(synthetic="classification", n_samples=200, n_features=5, n_classes=2, folds=3)
    reports = _reports(
        "sklearn:sklearn.linear_model.SGDClassifier", {"alpha": 1e-4, "epochs": 4, "seed": 1}, data
    )
    assert len(reports) == 4
    assert all(0 <= r["val_accuracy"] <= 1 and r["n_params"] == 6 for r in reports)
    again = _reports(
        "sklearn:sklearn.linear_model.SGDClassifier", {"alpha": 1e-4, "epochs": 4, "seed": 1}, data
    )
    assert [r["val_accuracy"] for r in again] == [r["val_accuracy"] for r in reports]  # seeded


def test_warm_start_ensembles_grow_in_epochs_steps() -> None:
    data = DataSpec(synthetic="regression", n_samples=120, n_features=3)
    reports = _reports(
        "sklearn:sklearn.ensemble.GradientBoostingRegressor",
        {"n_estimators": 20, "max_depth": 2, "epochs": 4, "seed": 0},
        data,
    )
    sizes = [r["n_params"] for r in reports]
    assert len(reports) == 4 and sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert reports[-1]["val_r2"] > reports[0]["val_r2"]  # more trees fit the curve better


def test_other_estimators_report_once_with_the_named_scorers() -> None:
    data = DataSpec(synthetic="regression", n_samples=120, n_features=3, folds=4)
    reports = _reports(
        "sklearn:sklearn.linear_model.Ridge",
        {"alpha": 1.0},
        data,
        scoring=("neg_mean_squared_error", "r2"),
    )
    assert len(reports) == 1
    assert set(reports[0]) == {"val_neg_mean_squared_error", "val_r2", "n_params", "fit_time_s"}
    assert reports[0]["val_neg_mean_squared_error"] < 0 < reports[0]["val_r2"]


def test_parameter_count_of_trees_and_linear_models() -> None:
    from sklearn.tree import DecisionTreeRegressor

    x = np.arange(20.0).reshape(10, 2)
    y = np.arange(10.0)
    assert parameter_count(Ridge().fit(x, y)) == 3
    tree = DecisionTreeRegressor(max_depth=2).fit(x, y)
    assert parameter_count(tree) == tree.tree_.node_count
    assert parameter_count(object()) is None
