"""THE Optuna mapping (caviar.search_spaces.optuna): scales, bounds, conditionals, round trips."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from caviar.search_spaces import (
    Space,
    from_optuna,
    integer,
    loguniform,
    pow2,
    reverse_loguniform,
    suggest_config,
    to_optuna,
    uniform,
)
from caviar.search_spaces.optuna import from_optuna_value, optuna_distribution, to_optuna_value
from tests.search_spaces.shared import SPACE


def test_optuna_distributions_keep_the_scale() -> None:
    dists = to_optuna(SPACE)
    assert "epochs" not in dists
    assert dists["lr"] == FloatDistribution(1e-4, 1.0, log=True)
    assert dists["hidden_units"] == IntDistribution(50, 100)
    assert dists["batch_size"] == IntDistribution(4, 7)  # exponents of 2
    assert dists["optimizer"] == CategoricalDistribution(["sgd", "adam"])
    momentum = dists["momentum"]
    assert isinstance(momentum, FloatDistribution) and momentum.log
    assert momentum.low == pytest.approx(1e-3) and momentum.high == pytest.approx(0.1)
    assert to_optuna(Space.from_dict({"k": "integer(1, 4, log=True)"}))["k"] == IntDistribution(
        1, 4, log=True
    )


def test_from_optuna_maps_values_back() -> None:
    params = {
        "optimizer": "sgd",
        "momentum": 0.01,  # 1 - 0.99
        "beta1": 0.05,  # inactive: ignored
        "lr": 0.1,
        "hidden_units": 64,
        "batch_size": 5,  # 2 ** 5
        "layers": 3,
        "q": 0.0504,
    }
    config = from_optuna(SPACE, params)
    assert config["momentum"] == pytest.approx(0.99)
    assert config["batch_size"] == 32
    assert config["q"] == pytest.approx(0.05)
    assert config["epochs"] == 5 and "beta1" not in config
    SPACE.validate(config)
    with pytest.raises(ValueError, match="lr: active in the space but missing"):
        from_optuna(SPACE, {k: v for k, v in params.items() if k != "lr"})


@pytest.mark.parametrize(
    "sampler",
    [optuna.samplers.RandomSampler(seed=0), optuna.samplers.TPESampler(seed=0, n_startup_trials=5)],
    ids=["random", "tpe"],
)
def test_suggest_config_suggests_only_active_parameters(
    sampler: optuna.samplers.BaseSampler,
) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=sampler)
    configs = []

    def objective(trial: optuna.Trial) -> float:
        config = suggest_config(trial, SPACE)
        configs.append(config)
        assert set(trial.params) == set(config) - {"epochs"}
        return float(np.log10(config["lr"])) ** 2  # type: ignore[arg-type]

    study.optimize(objective, n_trials=30)
    for config in configs:
        SPACE.validate(config)
    assert {c["optimizer"] for c in configs} == {"sgd", "adam"}
    assert from_optuna(SPACE, study.best_trial.params) == configs[study.best_trial.number]


def test_reverse_loguniform_keeps_its_bounds_exactly_through_optuna() -> None:
    space = Space.from_dict({"b": reverse_loguniform(0.9, 0.999), "x": uniform(0, 1, step=0.5)})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(200):
        config = suggest_config(study.ask(), space)
        assert 0.9 <= config["b"] <= 0.999  # type: ignore[operator]
        assert config["x"] in (0.0, 0.5, 1.0)
    assert to_optuna(Space.from_dict({"lr": loguniform(1e-3, 1)}))["lr"].log  # type: ignore[attr-defined]
    assert integer(1, 4, log=True).contains(4)


@pytest.mark.parametrize(
    ("dist", "expected"),
    [
        (pow2(16, 128), IntDistribution(4, 7)),  # exponents: equal steps in log(value)
        (integer(16, 128, base=2), IntDistribution(4, 7)),
        (integer(1, 1000, log=True), IntDistribution(1, 1000, log=True)),
        (integer(2, 10, step=2), IntDistribution(2, 10, step=2)),
    ],
)
def test_integer_powers_and_log_integers_are_on_their_log_scale(
    dist: object, expected: IntDistribution
) -> None:
    assert optuna_distribution(dist) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("dist", "values"),
    [
        (pow2(16, 128), [16, 32, 64, 128]),
        (integer(1, 1000, log=True), [1, 7, 1000]),
        (reverse_loguniform(0.9, 0.999), [0.9, 0.99, 0.999]),
        (loguniform(1e-4, 1), [1e-4, 0.5]),
        (uniform(0, 1, step=0.25), [0.0, 0.75]),
    ],
)
def test_values_round_trip_through_optunas_coordinates(dist: object, values: list[float]) -> None:
    for value in values:
        there = to_optuna_value(dist, value)  # type: ignore[arg-type]
        assert optuna_distribution(dist)._contains(  # type: ignore[arg-type, union-attr]
            optuna_distribution(dist).to_internal_repr(there)  # type: ignore[arg-type, union-attr]
        )
        back = from_optuna_value(dist, there)  # type: ignore[arg-type]
        assert back == pytest.approx(value)


def test_pow2_is_an_even_spread_of_exponents() -> None:
    """A power of two as Optuna sees it: 16 -> 4, 128 -> 7, the midpoint in log is 2**5.5."""
    dist = pow2(16, 128)
    assert [to_optuna_value(dist, v) for v in (16, 32, 64, 128)] == [4, 5, 6, 7]
    assert math.isclose(2 ** np.mean([4, 7]), math.sqrt(16 * 128))
