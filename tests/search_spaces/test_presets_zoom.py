"""Presets by tuning priority and the coarse-to-fine zoom."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from caviar.search_spaces import (
    Choice,
    Constant,
    Float,
    Space,
    choice,
    integer,
    loguniform,
    pow2,
    preset,
    reverse_loguniform,
    zoom,
)


def mlp_defaults() -> dict[str, Any]:
    """The mlp trainable's defaults, from its knob declarations (knobs.py imports no torch)."""
    from caviar.trainables.knobs import MLP_KNOBS, defaults

    return defaults(MLP_KNOBS)


def test_tiers_add_hyperparameters_in_order_of_priority() -> None:
    assert preset("mlp", tiers=1).to_dict() == {"lr": "loguniform(0.0001, 1.0)"}
    two = preset("mlp", tiers=2)
    assert two["lr"] == loguniform(1e-4, 1)
    assert two["momentum"] == reverse_loguniform(0.9, 0.999)
    assert two["hidden_units"] == integer(50, 100)
    assert two["batch_size"] == pow2(16, 128)
    assert set(two) == {"lr", "momentum", "hidden_units", "batch_size"}
    three = preset("mlp", tiers=3)
    assert three["layers"] == integer(2, 4)
    assert set(three) - set(two) == {"layers", "lr_schedule", "lr_decay"}
    assert three.params["lr_decay"].when[0].parent == "lr_schedule"
    four = preset("mlp", tiers=4)
    assert four["beta1"] == reverse_loguniform(0.8, 0.99)
    assert four["eps"] == loguniform(1e-9, 1e-7)


def test_every_preset_key_is_a_knob_of_the_mlp_trainable_with_the_usual_defaults() -> None:
    defaults = mlp_defaults()
    assert set(preset("mlp", tiers=4, optimizers=["sgd", "adam"])) <= set(defaults)
    assert (defaults["beta1"], defaults["beta2"], defaults["eps"]) == (0.9, 0.999, 1e-8)
    for name, value in preset("mlp", tiers=4).sample(0).items():
        assert type(value) is type(defaults[name]) or isinstance(defaults[name], float), name


def test_optimizer_knobs_are_conditional_on_the_optimizers_that_use_them() -> None:
    space = preset("mlp", tiers=4, optimizers=["sgd", "rmsprop", "adam"])
    assert space["optimizer"] == choice("sgd", "rmsprop", "adam")
    assert space.params["momentum"].when[0].values == ("sgd", "rmsprop")
    assert space.params["beta2"].when[0].values == ("adam",)
    for seed in range(50):
        config = space.sample(seed)
        space.validate(config)
        assert ("momentum" in config) == (config["optimizer"] in ("sgd", "rmsprop"))
        assert ("eps" in config) == (config["optimizer"] == "adam")
    only_sgd = preset("mlp", tiers=4, optimizers=["sgd"])
    assert only_sgd["optimizer"] == Constant("sgd") and "beta1" not in only_sgd


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "cnn"}, r"preset: unknown name 'cnn' \(known: mlp\)"),
        ({"name": "mlp", "tiers": 0}, r"preset: tiers must be an integer in 1\.\.4, got 0"),
        ({"name": "mlp", "tiers": 5}, r"preset: tiers must be an integer in 1\.\.4, got 5"),
        ({"name": "mlp", "tiers": 2.5}, r"preset: tiers must be an integer in 1\.\.4, got 2\.5"),
        ({"name": "mlp", "optimizers": "sgd"}, r"preset: optimizers must be a list of names"),
    ],
)
def test_bad_presets_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        preset(**kwargs)


def coarse_trials(space: Space, n: int = 200) -> list[dict[str, Any]]:
    """A coarse sweep whose loss is best near lr = 1e-2 and with adam."""
    rng = np.random.default_rng(0)
    trials = []
    for _ in range(n):
        config = space.sample(rng)
        loss = (math.log10(config["lr"]) + 2) ** 2 + (0 if config["optimizer"] == "adam" else 1)
        trials.append({**config, "val_loss": loss})
    return trials


SPACE = Space.from_dict(
    {
        "optimizer": 'choice("sgd", "adam")',
        "momentum": {"sample": "reverse_loguniform(0.9, 0.999)", "when": {"optimizer": "sgd"}},
        "lr": "loguniform(1e-4, 1)",
        "hidden_units": "integer(50, 100)",
        "batch_size": "pow2(16, 128)",
        "epochs": 7,
    }
)


def test_a_learning_rate_zoom_stays_log_scale_around_the_best_trials() -> None:
    trials = coarse_trials(SPACE)
    zoomed = zoom(SPACE, trials, "val_loss", "min", top_k=5, margin=0.05)
    lr = zoomed["lr"]
    assert isinstance(lr, Float) and lr.scale == "log"
    assert 1e-3 < lr.low < 1e-2 < lr.high < 1e-1
    best = sorted(trials, key=lambda t: t["val_loss"])[:5]
    lows = [t["lr"] for t in best]
    # the margin is 5% of the 4 decades on each side, in log space
    assert math.log10(min(lows)) - math.log10(lr.low) == pytest.approx(0.2)
    assert math.log10(lr.high) - math.log10(max(lows)) == pytest.approx(0.2)
    assert zoomed["optimizer"] == choice("adam")
    assert "momentum" not in zoomed  # its condition can no longer hold
    assert zoomed["epochs"] == Constant(7)
    assert all(zoomed["hidden_units"].contains(t["hidden_units"]) for t in best)


def test_zoom_reads_a_dataframe_with_nulls_for_inactive_parameters() -> None:
    trials = coarse_trials(SPACE)
    frame = pd.DataFrame(trials)  # momentum NaN where inactive; ints stay ints
    frame.loc[0, "val_loss"] = float("nan")  # a failed trial is skipped
    by_frame = zoom(SPACE, frame, "val_loss", "min", top_k=10, margin=0.1)
    by_list = zoom(SPACE, trials[1:], "val_loss", "min", top_k=10, margin=0.1)
    assert by_frame == by_list


def test_conditional_parameters_zoom_on_the_trials_where_they_are_active() -> None:
    rng = np.random.default_rng(1)
    trials = []
    for _ in range(300):
        config = SPACE.sample(rng)
        loss = abs(math.log10(1 - config.get("momentum", 0.9)) + 2)
        trials.append({**config, "acc": -loss})
    zoomed = zoom(SPACE, trials, "acc", "max", top_k=8, margin=0.0)
    momentum = zoomed["momentum"]
    assert isinstance(momentum, Float) and momentum.scale == "reverse_log"
    assert 0.9 < momentum.low < 0.99 < momentum.high < 0.999
    assert isinstance(zoomed["optimizer"], Choice)


def test_zoom_with_a_full_margin_gives_back_the_original_space() -> None:
    assert zoom(SPACE, coarse_trials(SPACE), "val_loss", "min", top_k=200, margin=1.0) == SPACE


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "best"}, r"zoom: mode must be 'min' or 'max', got 'best'"),
        ({"top_k": 0}, r"zoom: top_k must be an integer >= 1, got 0"),
        ({"margin": -0.1}, r"zoom: margin must be a number in \[0, 1\], got -0\.1"),
        ({"metric": "nope"}, r"zoom: no trial has a value for metric 'nope'"),
    ],
)
def test_bad_zoom_arguments_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"metric": "val_loss", "mode": "min", **kwargs}
    with pytest.raises(ValueError, match=message):
        zoom(SPACE, coarse_trials(SPACE, 10), **args)


def test_a_trial_outside_the_space_is_an_error() -> None:
    trials = [{"optimizer": "adam", "lr": 5.0, "hidden_units": 60, "batch_size": 32, "l": 1.0}]
    with pytest.raises(ValueError, match=r"zoom: lr: trial value 5\.0 is outside loguniform"):
        zoom(SPACE, trials, "l", "min")
