"""Real sweeps through the orchestrator: the mlp on real tabular data, and data loaded once per worker."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer

import caviar
from caviar.spec.parse import parse_spec
from caviar.tune.run import prepare, run_sweep
from tests.conftest import small_spec

pytestmark = pytest.mark.xdist_group("ray")


def test_one_trial_mlp_sweep_on_breast_cancer_parquet(tmp_path: Path, ray_local: None) -> None:
    table = tmp_path / "cancer.parquet"
    load_breast_cancer(as_frame=True).frame.to_parquet(table)
    raw = small_spec(
        tmp_path,
        name="cancer",
        data={"path": str(table), "target": "target"},
        space={"lr": 3e-3, "hidden_units": 32, "batch_size": 32, "epochs": 12},
        search={"algorithm": "random", "num_samples": 1},
    )
    spec = parse_spec(raw)
    prepare(spec)
    outcome = run_sweep(spec, show_progress=False)
    assert outcome.errors == 0
    trials = caviar.read_trials(outcome.sweep_uri)
    assert len(trials) == 1
    assert trials["val_accuracy"].iloc[0] >= 0.93
    assert len(caviar.read_curves(outcome.sweep_uri)) == 12


def test_data_is_loaded_on_the_driver_and_never_in_a_worker(
    tmp_path: Path, ray_local: None
) -> None:
    raw = small_spec(
        tmp_path,
        name="probe",
        trainable="tests.trainables.probe:train",
        space={"x": "uniform(0, 1)", "epochs": 2},
        search={"algorithm": "random", "num_samples": 6},
    )
    outcome = run_sweep(parse_spec(raw), show_progress=False)
    assert outcome.errors == 0
    curves = caviar.read_curves(outcome.sweep_uri)
    assert curves["trial_id"].nunique() == 6 and (curves["rows"] == 300).all()
    per_process = curves.groupby("worker_pid")["loads"].max()
    assert (per_process == 0).all(), per_process  # shipped through the object store instead
    assert curves.groupby("worker_pid")["trial_id"].nunique().max() > 1  # actors really were reused
