"""Checkpoints load with weights_only=True: the built-in states do, a pickle with code does not run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from caviar.trainables.bundle import MEMBERS_KEY, STOP_KEY, train_bundle
from caviar.trainables.checkpoint_io import UnsafeCheckpoint, load_state
from caviar.trainables.data import DataSpec
from caviar.trainables.mlp import train_mlp
from tests.trainables.recording import RecordingContext

DATA = DataSpec.from_dict(
    {"synthetic": "classification", "n_samples": 200, "n_features": 6, "n_classes": 3}
)
BASE = {"hidden_units": 8, "layers": 1, "epochs": 2, "lr_schedule": "cosine", "seed": 3}


class Planted:
    """What an attacker with write access to storage would put in a checkpoint."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (self.marker, "code ran at load"))


def saved_and_loaded(state: Any, tmp_path: Path) -> Any:
    path = tmp_path / "state.pt"
    torch.save({"iteration": 2, "state": state}, path)
    return load_state(path)["state"]


def test_a_checkpoint_with_code_in_it_is_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "state.pt"
    torch.save({"iteration": 1, "state": Planted(marker)}, path)
    with pytest.raises(UnsafeCheckpoint, match="weights_only=True"):
        load_state(path)
    assert not marker.exists()  # today (weights_only=False): the file is written


@pytest.mark.parametrize("folds", [0, 2])
def test_the_mlp_state_loads_with_weights_only(tmp_path: Path, folds: int) -> None:
    data = DataSpec(**{**DATA.__dict__, "folds": folds})
    ctx = RecordingContext(data)
    train_mlp(dict(BASE), ctx)
    iteration, state = ctx.checkpoints[-1]
    loaded = saved_and_loaded(state, tmp_path)
    resumed = RecordingContext(data, (1, loaded))
    train_mlp({**BASE}, resumed)  # continues from it: epoch 2 again, from epoch 1's state
    assert iteration == 2 and len(resumed.reports) == 1


def test_the_fused_bundle_state_loads_with_weights_only(tmp_path: Path) -> None:
    config = {
        MEMBERS_KEY: [{**BASE, "lr": 1e-2, "seed": 1}, {**BASE, "lr": 3e-2, "seed": 2}],
        STOP_KEY: {"metric": "val_loss", "mode": "min", "max_t": 2},
    }
    ctx = RecordingContext(DATA)
    train_bundle(config, ctx)
    _, state = ctx.checkpoints[-1]
    loaded = saved_and_loaded(state, tmp_path)
    assert loaded["best"] == state["best"]
    assert torch.equal(loaded["bundle"]["params"][0], state["bundle"]["params"][0])
