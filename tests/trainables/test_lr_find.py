"""The LR range test: its suggestion lands within a decade of the best fixed lr; the command works."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from caviar.search_spaces import choice, constant, integer, loguniform
from caviar.trainables.data import DataSpec, load_dataset
from caviar.trainables.lr_find import lr_range_test, representative_config, save_plot
from caviar.trainables.mlp import train_mlp
from tests.conftest import run_cli
from tests.trainables.recording import RecordingContext

DATA = DataSpec(n_samples=1000, n_features=10, n_classes=4, seed=0)
CONFIG = {"optimizer": "sgd", "momentum": 0.0, "hidden_units": 32, "layers": 1, "batch_size": 32}


def test_suggestion_is_within_a_decade_of_the_best_fixed_lr(tmp_path: Path) -> None:
    result = lr_range_test(CONFIG, load_dataset(DATA), min_lr=1e-5, max_lr=10, steps=150)
    assert result.diverged
    final = {}
    for lr in (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0):
        ctx = RecordingContext(DATA)
        train_mlp({**CONFIG, "lr": lr, "epochs": 5}, ctx)
        final[lr] = ctx.reports[-1]["val_loss"]
    best = min(final, key=final.__getitem__)
    assert best / 10 <= result.suggested_lr <= best * 10, (result.suggested_lr, final)
    low, high = result.suggested_range
    assert low < result.suggested_lr < high
    png = save_plot(result, tmp_path / "lr.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_representative_config_takes_defaults_or_middles() -> None:
    space = {
        "lr": loguniform(1e-4, 1e-2),
        "hidden_units": integer(100, 300),
        "optimizer": choice("sgd", "adam"),
        "activation": choice("tanh", "gelu"),
        "epochs": constant(3),
    }
    config = representative_config(space)
    assert config["lr"] == pytest.approx(1e-3)  # the default, inside the range
    assert config["hidden_units"] == 200  # the default 64 is outside: the middle
    assert config["optimizer"] == "adam" and config["activation"] == "tanh"
    assert config["epochs"] == 3


def test_bad_lr_bounds_are_rejected() -> None:
    with pytest.raises(ValueError, match="min_lr"):
        lr_range_test(CONFIG, load_dataset(DATA), min_lr=1, max_lr=0.1)
    with pytest.raises(ValueError, match="steps"):
        lr_range_test(CONFIG, load_dataset(DATA), steps=3)


def test_lr_find_command_prints_suggestion_and_writes_png(tmp_path: Path) -> None:
    spec = {
        "name": "lrf",
        "trainable": "mlp",
        "data": {"synthetic": "classification", "n_samples": 300, "n_features": 8},
        "metric": "val_loss",
        "mode": "min",
        "space": {"lr": "loguniform(1e-4, 1)", "optimizer": "sgd", "hidden_units": 16},
        "storage": str(tmp_path / "results"),
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    png = tmp_path / "plot.png"
    done = run_cli("lr-find", str(path), "--steps", "60", "--min-lr", "1e-5", "-o", str(png))
    assert done.returncode == 0, done.stderr
    assert "suggested lr:" in done.stdout and "loguniform(" in done.stdout
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "results").exists()
    assert "ray" not in done.stderr.lower()
