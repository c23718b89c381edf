"""The mlp trainable on real tabular data: accuracy, seeded reproducibility, exact resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from sklearn.datasets import load_breast_cancer

from caviar.trainables.data import DataSpec
from caviar.trainables.mlp import lr_factor, train_mlp, with_defaults
from tests.trainables.recording import RecordingContext


@pytest.fixture(scope="module")
def cancer(tmp_path_factory: pytest.TempPathFactory) -> DataSpec:
    frame = load_breast_cancer(as_frame=True).frame
    path = Path(tmp_path_factory.mktemp("data")) / "cancer.parquet"
    frame.to_parquet(path)
    return DataSpec.from_dict({"path": str(path), "target": "target"})


def _curve(data: DataSpec, config: dict[str, Any]) -> list[float]:
    ctx = RecordingContext(data)
    train_mlp(config, ctx)
    return [r["val_loss"] for r in ctx.reports]


def test_mlp_on_breast_cancer_parquet_reaches_expected_accuracy(cancer: DataSpec) -> None:
    ctx = RecordingContext(cancer)
    train_mlp({"lr": 3e-3, "epochs": 15, "hidden_units": 32, "batch_size": 32}, ctx)
    assert len(ctx.reports) == 15
    assert ctx.reports[-1]["val_accuracy"] >= 0.93


def test_same_seed_same_curve_different_seed_different_curve(cancer: DataSpec) -> None:
    config = {"epochs": 4, "dropout": 0.2, "hidden_units": 16}
    first = _curve(cancer, {**config, "seed": 1})
    assert first == _curve(cancer, {**config, "seed": 1})
    assert first != _curve(cancer, {**config, "seed": 2})


@pytest.mark.parametrize("schedule", ["constant", "one_cycle", "triangular"])
def test_restored_trial_continues_bit_for_bit(cancer: DataSpec, schedule: str) -> None:
    config = {"epochs": 6, "dropout": 0.3, "batch_norm": True, "lr_schedule": schedule}
    straight = RecordingContext(cancer)
    train_mlp(config, straight)
    # "Killed" after epoch 3: a fresh process would restore the checkpoint of iteration 3.
    saved = straight.checkpoints[2]
    assert saved[0] == 3
    resumed = RecordingContext(cancer, saved=saved)
    train_mlp(config, resumed)
    assert [r["val_loss"] for r in resumed.reports] == [r["val_loss"] for r in straight.reports[3:]]


@pytest.mark.parametrize("schedule", ["triangular", "one_cycle"])
def test_cyclical_schedules_rise_then_fall(schedule: str) -> None:
    config = with_defaults({"lr_schedule": schedule, "epochs": 10, "cycle_epochs": 4})
    factors = [lr_factor(config, e) for e in range(10)]
    peak = factors.index(max(factors))
    assert max(factors) == pytest.approx(1.0, abs=0.06)
    assert factors[0] < factors[peak] and factors[peak + 1] < factors[peak]
    assert all(0 < f <= 1 for f in factors)


def test_kfold_partitions_rows_and_reports_the_mean_over_folds(cancer: DataSpec) -> None:
    from caviar.trainables.data import load_dataset

    spec = DataSpec.from_dict({"path": cancer.path, "target": "target", "folds": 3})
    data = load_dataset(spec)
    assert len(data.folds) == 3
    assert sum(len(f.y_val) for f in data.folds) == 569  # every row validates exactly once
    config = {"epochs": 3, "lr": 3e-3, "hidden_units": 16, "dropout": 0.1}
    straight = RecordingContext(spec)
    train_mlp(config, straight)
    assert len(straight.reports) == 3 and straight.reports[-1]["val_accuracy"] > 0.9
    assert len(straight.checkpoints[0][1]["folds"]) == 3
    resumed = RecordingContext(spec, saved=straight.checkpoints[0])
    train_mlp(config, resumed)
    assert resumed.reports == [
        {**r, "epoch_time_s": resumed.reports[i]["epoch_time_s"]}
        for i, r in enumerate(straight.reports[1:])
    ]


def test_bad_folds_are_rejected() -> None:
    with pytest.raises(ValueError, match="folds: must be 0"):
        DataSpec(folds=1)


def test_amp_is_ignored_on_cpu(cancer: DataSpec) -> None:
    config = {"epochs": 2, "hidden_units": 8}
    assert _curve(cancer, {**config, "amp": True}) == _curve(cancer, config)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_amp_trains_on_gpu(cancer: DataSpec) -> None:
    class OnGPU(RecordingContext):
        @property
        def device(self) -> torch.device:
            return torch.device("cuda", 0)

    ctx = OnGPU(cancer)
    train_mlp({"epochs": 10, "lr": 3e-3, "amp": True}, ctx)
    assert ctx.reports[-1]["val_accuracy"] >= 0.9


def test_example_user_trainable_resumes_where_it_stopped(cancer: DataSpec) -> None:
    from examples.user_trainable import train

    config = {"lr": 1e-2, "hidden_units": 16, "epochs": 4}
    straight = RecordingContext(cancer)
    train(config, straight)
    assert len(straight.reports) == 4
    resumed = RecordingContext(cancer, saved=straight.checkpoints[1])
    train(config, resumed)
    assert len(resumed.reports) == 2 and resumed.iteration == 4
