"""The shared epoch loop: its rules as tables, and a family other than the mlp trained through it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest
import torch
from torch import nn

from caviar.trainables.data import Dataset, DataSpec
from caviar.trainables.knobs import TRAINING_KNOBS, Knob
from caviar.trainables.loop import (
    DIVERGED,
    FINISHED,
    REPORTED,
    RUNNING,
    ModelFamily,
    Progress,
    checkpoint_due,
    n_outputs,
    task_loss,
    train_family,
)
from caviar.trainables.mlp import train_mlp
from caviar.trainables.protocol import MLP_METRICS, TrainContext
from tests.trainables.recording import RecordingContext

SPEC = DataSpec(n_samples=200, n_features=6)


def _epoch(val: float, train: float = 1.0) -> dict[str, float]:
    return {"train_loss": train, "val_loss": val}


@pytest.mark.parametrize(
    ("epochs", "patience", "curve", "fates"),
    [
        (3, 0, [3, 2, 1], [RUNNING, RUNNING, FINISHED]),
        (9, 2, [3, 2, 2.5, 2.1], [RUNNING, RUNNING, RUNNING, FINISHED]),  # 2 without a new best
        (9, 2, [3, 2, 2.5, 1.0, 1.5], [RUNNING] * 5),  # improvement resets the count
        (9, 0, [3, math.inf], [RUNNING, DIVERGED]),
        (9, 0, [3, math.nan], [RUNNING, DIVERGED]),
    ],
)
def test_progress_decides_finished_patience_and_divergence(
    epochs: int, patience: int, curve: list[float], fates: list[str]
) -> None:
    progress = Progress(epochs, patience)
    assert [progress.update(i + 1, _epoch(v)) for i, v in enumerate(curve)] == fates
    assert Progress(9).update(1, _epoch(1.0, train=math.nan)) == DIVERGED


@pytest.mark.parametrize(
    ("iteration", "every", "fate", "due"),
    [
        (1, 1, RUNNING, True),
        (1, 3, RUNNING, False),
        (3, 3, RUNNING, True),
        (4, 3, FINISHED, True),  # the last epoch, whatever ended it
        (3, 3, DIVERGED, False),  # never a diverged one
    ],
)
def test_checkpoint_timing(iteration: int, every: int, fate: str, due: bool) -> None:
    assert checkpoint_due(iteration, every, fate) is due


def test_the_squeeze_rule_is_the_tasks() -> None:
    target = torch.tensor([0.5, 1.5])
    one = torch.tensor([[0.5], [1.0]])
    assert task_loss(one, target, "regression").item() == pytest.approx(0.125)
    logits = torch.tensor([[2.0], [1.0]])  # one class: never squeezed, cross-entropy of 0
    assert task_loss(logits, torch.tensor([0, 0]), "classification").item() == pytest.approx(0)


def test_patience_stop_reports_that_epoch_with_a_checkpoint() -> None:
    ctx = RecordingContext(SPEC)
    train_mlp({"epochs": 30, "patience": 1, "lr": 0.3, "checkpoint_every": 100}, ctx)
    assert len(ctx.reports) < 30
    # The last reported epoch is checkpointed (it was not, before the loops were one).
    assert [i for i, _ in ctx.checkpoints] == [len(ctx.reports)]


def test_a_diverged_epoch_is_reported_once_without_a_checkpoint() -> None:
    ctx = RecordingContext(SPEC)
    train_mlp({"epochs": 20, "lr": 1e6, "optimizer": "sgd", "momentum": 0.0}, ctx)
    assert ctx.reports[-1]["diverged"] is True
    assert all("diverged" not in r for r in ctx.reports[:-1])
    assert [i for i, _ in ctx.checkpoints] == list(range(1, len(ctx.reports)))


def _linear(config: Mapping[str, Any], data: Dataset) -> nn.Module:
    width = int(config["width"])
    return nn.Sequential(nn.Linear(data.n_features, width), nn.Linear(width, n_outputs(data)))


LINEAR = ModelFamily("linear", {**TRAINING_KNOBS, "width": Knob(4, int, 1)}, _linear)


def test_another_family_trains_resumes_and_reports_what_the_mlp_reports() -> None:
    config = {"epochs": 4, "width": 3, "lr": 1e-2}
    straight = RecordingContext(SPEC)
    train_family(LINEAR, config, straight)
    assert len(straight.reports) == 4 and set(straight.reports[0]) == set(REPORTED)
    assert set(REPORTED) == MLP_METRICS  # the spec's torch-free copy
    resumed = RecordingContext(SPEC, saved=straight.checkpoints[1])
    train_family(LINEAR, config, resumed)
    strip = [{k: v for k, v in r.items() if k != "epoch_time_s"} for r in straight.reports[2:]]
    assert [{k: v for k, v in r.items() if k != "epoch_time_s"} for r in resumed.reports] == strip
    with pytest.raises(ValueError, match=r"^hidden_units: not a knob of the linear trainable"):
        train_family(LINEAR, {"hidden_units": 3}, RecordingContext(SPEC))


def test_the_recording_context_satisfies_the_protocol() -> None:
    ctx: TrainContext = RecordingContext(SPEC)  # mypy checks the structure
    assert ctx.iteration == 0 and ctx.restore() is None
