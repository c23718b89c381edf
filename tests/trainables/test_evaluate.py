"""Test scoring: a trial's saved model scored on the test set equals scoring that model directly."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from caviar.trainables.cnn import CNN
from caviar.trainables.data import DataSpec, load_dataset
from caviar.trainables.evaluate import STATE_FILE, knob_values, score_model, score_trial
from caviar.trainables.mlp import MLP
from caviar.trainables.protocol import BUILTIN_FAMILIES
from tests.trainables.recording import RecordingContext


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _train(name: str, config: dict[str, Any], spec: DataSpec, where: Path) -> RecordingContext:
    """Train a built-in trial in memory and save its last checkpoint as a trial's directory."""
    from caviar.trainables.adapter import resolve

    ctx = RecordingContext(spec)
    resolve(name)(config, ctx)
    iteration, state = ctx.checkpoints[-1]
    where.mkdir(parents=True, exist_ok=True)
    torch.save({"iteration": iteration, "state": state}, where / STATE_FILE)  # as TrialContext
    return ctx


@pytest.fixture
def same_file(tmp_path: Path) -> DataSpec:
    """A table whose validation and test sets are the same file: test scores must be val scores."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8))
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(8)])
    frame["y"] = (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1).astype(int)
    frame.iloc[:150].to_parquet(tmp_path / "train.parquet")
    frame.iloc[150:].to_parquet(tmp_path / "held.parquet")
    held = str(tmp_path / "held.parquet")
    return DataSpec.from_dict(
        {"path": tmp_path / "train.parquet", "target": "y", "validation": held, "test": held}
    )


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("mlp", {"epochs": 3, "hidden_units": 8, "dropout": 0.2, "batch_norm": True}),
        ("cnn", {"epochs": 3, "channels": 4, "kernel": 3, "dropout": 0.2, "batch_norm": True}),
    ],
)
def test_the_saved_models_test_scores_are_its_last_val_scores_on_the_same_rows(
    name: str, config: dict[str, Any], same_file: DataSpec, tmp_path: Path
) -> None:
    ctx = _train(name, config, same_file, tmp_path / "checkpoint_000002")
    scores = score_trial(name, config, tmp_path / "checkpoint_000002", same_file)
    last = ctx.reports[-1]
    assert set(scores) == {"test_loss", "test_accuracy"}
    assert scores["test_accuracy"] == pytest.approx(last["val_accuracy"], abs=1e-12)
    assert scores["test_loss"] == pytest.approx(last["val_loss"], rel=1e-6)


def test_score_trial_equals_scoring_the_model_directly(tmp_path: Path) -> None:
    spec = DataSpec.from_dict({"dataset": "digits", "test_fraction": 0.2})
    config = {"epochs": 2, "channels": 4, "kernel": 3, "conv_layers": 2, "seed": 3, "lr": 1e-2}
    ctx = _train("cnn", config, spec, tmp_path / "ckpt")
    data = load_dataset(spec)
    assert data.x_test is not None and data.y_test is not None
    model = CNN.build(CNN.with_defaults(config), data)
    model.load_state_dict(ctx.checkpoints[-1][1]["folds"][0]["model"])
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(data.x_test))
    target = torch.from_numpy(data.y_test)
    expected_loss = float(torch.nn.functional.cross_entropy(logits, target))
    expected_accuracy = float((logits.argmax(1) == target).double().mean())
    # The state file alone works too, as does the directory.
    for where in (tmp_path / "ckpt", tmp_path / "ckpt" / STATE_FILE):
        scores = score_trial("cnn", config, where, spec)
        assert scores["test_loss"] == pytest.approx(expected_loss, rel=1e-6)
        assert scores["test_accuracy"] == pytest.approx(expected_accuracy, abs=1e-6)
    assert scores["test_accuracy"] > 0.5  # a model that learned: the comparison means something
    assert score_model(model, data.x_test, data.y_test, "classification") == scores


def test_folds_are_scored_as_the_mean_of_their_models(tmp_path: Path) -> None:
    spec = DataSpec(n_samples=150, n_features=6, folds=3, test_fraction=0.2)
    config = {"epochs": 2, "hidden_units": 8}
    ctx = _train("mlp", config, spec, tmp_path / "ckpt")
    folds = load_dataset(spec).folds
    each = []
    for fold, state in zip(folds, ctx.checkpoints[-1][1]["folds"], strict=True):
        model = MLP.build(MLP.with_defaults(config), fold)
        model.load_state_dict(state["model"])
        assert fold.x_test is not None and fold.y_test is not None
        each.append(score_model(model, fold.x_test, fold.y_test, "classification"))
    scores = score_trial("mlp", config, tmp_path / "ckpt", spec)
    assert scores["test_loss"] == pytest.approx(np.mean([s["test_loss"] for s in each]))
    assert scores["test_accuracy"] == pytest.approx(np.mean([s["test_accuracy"] for s in each]))


def test_regression_has_a_test_loss_only(tmp_path: Path) -> None:
    spec = DataSpec(synthetic="regression", n_samples=100, n_features=4, test_fraction=0.2)
    _train("mlp", {"epochs": 1}, spec, tmp_path / "ckpt")
    assert set(score_trial("mlp", {"epochs": 1}, tmp_path / "ckpt", spec)) == {"test_loss"}


def test_a_config_read_back_from_a_results_table(same_file: DataSpec, tmp_path: Path) -> None:
    """Sweep columns, absent conditional knobs (NaN/None) and ints stored as floats are fine."""
    config = {"epochs": 2, "hidden_units": 8, "optimizer": "adam"}
    _train("mlp", config, same_file, tmp_path / "ckpt")
    row = {
        "epochs": 2.0,
        "hidden_units": np.float64(8.0),
        "optimizer": "adam",
        "momentum": math.nan,
        "nesterov": None,
        "round": 1,
        "confirm_of": None,
    }
    assert score_trial("mlp", row, tmp_path / "ckpt", same_file) == score_trial(
        "mlp", config, tmp_path / "ckpt", same_file
    )
    assert knob_values(row, MLP) == {"epochs": 2, "hidden_units": 8, "optimizer": "adam"}


def test_nothing_to_score_gives_no_columns(same_file: DataSpec, tmp_path: Path) -> None:
    _train("mlp", {"epochs": 1}, same_file, tmp_path / "ckpt")
    no_test = DataSpec(n_samples=100, n_features=8)
    assert score_trial("mlp", {"epochs": 1}, tmp_path / "ckpt", no_test) == {}
    assert score_trial("mlp", {"epochs": 1}, None, same_file) == {}
    assert score_trial("mypkg.train:train", {}, tmp_path / "ckpt", same_file) == {}
    assert score_trial("mlp", {"epochs": 1}, tmp_path / "ckpt", None) == {}


def test_a_checkpoint_of_another_architecture_is_one_line(
    same_file: DataSpec, tmp_path: Path
) -> None:
    _train("mlp", {"epochs": 1, "hidden_units": 8}, same_file, tmp_path / "ckpt")
    with pytest.raises(ValueError, match=r"^checkpoint: does not fit the mlp of this config"):
        score_trial("mlp", {"hidden_units": 16}, tmp_path / "ckpt", same_file)


def test_every_built_in_torch_trainable_can_be_scored() -> None:
    assert set(BUILTIN_FAMILIES) == {"mlp", "cnn"}


def test_each_fused_member_is_scored_from_its_own_weights_as_it_left_the_bundle(
    same_file: DataSpec, tmp_path: Path
) -> None:
    """ASHA cuts some members early: the bundle's last checkpoint still holds each member's
    weights as it left the stack, so its test scores (test rows = val rows) are its last val ones."""
    from caviar.trainables.bundle import (
        MEMBERS_KEY,
        RUNNING,
        STOP_KEY,
        member_metrics,
        train_bundle,
    )
    from caviar.trainables.evaluate import score_member

    configs = [
        {"epochs": 6, "hidden_units": 8, "lr": lr, "seed": i}
        for i, lr in enumerate([1e-1, 3e-2, 1e-2, 1e-3])
    ]
    rule = {"metric": "val_loss", "mode": "min", "max_t": 6, "grace_period": 1}
    ctx = RecordingContext(same_file)
    train_bundle({MEMBERS_KEY: configs, STOP_KEY: {**rule, "reduction_factor": 2}}, ctx)
    last: dict[int, dict[str, Any]] = {}
    left: dict[int, int] = {}  # the epoch each member left the stack
    for epoch, report in enumerate(ctx.reports, start=1):
        for member, metrics in member_metrics(report).items():
            last[member] = metrics
            if metrics["fate"] != RUNNING:
                left.setdefault(member, epoch)
    assert len(left) == len(configs) and len(set(left.values())) > 1, left  # cut at other epochs
    iteration, state = ctx.checkpoints[-1]
    torch.save({"iteration": iteration, "state": state}, tmp_path / STATE_FILE)
    for member, config in enumerate(configs):
        scores = score_member(config, tmp_path, member, same_file)
        assert scores["test_accuracy"] == pytest.approx(last[member]["val_accuracy"], abs=1e-9)
        assert scores["test_loss"] == pytest.approx(last[member]["val_loss"], rel=1e-5)
