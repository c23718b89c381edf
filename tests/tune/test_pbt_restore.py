"""PBT's exploit: the mlp restored from a checkpoint into a perturbed config trains with the new one."""

from __future__ import annotations

from typing import Any

import pytest

from caviar.trainables.data import DataSpec
from caviar.trainables.mlp import train_mlp
from tests.trainables.recording import RecordingContext

DATA = DataSpec.from_dict(
    {"synthetic": "classification", "n_samples": 200, "n_features": 6, "n_classes": 3}
)
BASE = {"hidden_units": 8, "layers": 1, "epochs": 4, "optimizer": "sgd", "momentum": 0.9}


def run(config: dict[str, Any], saved: tuple[int, Any] | None = None) -> RecordingContext:
    ctx = RecordingContext(DATA, saved)
    train_mlp(config, ctx)
    return ctx


def test_restored_mlp_takes_the_new_lr_and_momentum() -> None:
    first = run({**BASE, "lr": 0.01, "epochs": 2})
    saved = first.checkpoints[-1]
    resumed = run({**BASE, "lr": 0.05, "momentum": 0.5}, saved)
    assert [r["lr_now"] for r in resumed.reports] == [0.05, 0.05]  # epochs 3 and 4, the new lr
    optimizer_state = resumed.checkpoints[-1][1]["folds"][0]["optimizer"]
    assert optimizer_state["param_groups"][0]["momentum"] == 0.5


def test_restored_mlp_with_the_same_config_continues_bit_for_bit() -> None:
    config = {**BASE, "lr": 0.02, "lr_schedule": "cosine", "warmup_epochs": 1}
    whole = run(config)
    half = run({**config}, saved=run({**config, "epochs": 4}).checkpoints[1])
    assert [r["val_loss"] for r in half.reports] == [r["val_loss"] for r in whole.reports[2:]]
    assert [r["lr_now"] for r in half.reports] == pytest.approx(
        [r["lr_now"] for r in whole.reports[2:]]
    )
