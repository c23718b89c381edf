"""Conversion to Ray Tune param spaces and Optuna distributions: types, bounds, conditionals."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from ray import tune
from ray.tune.search import sample
from ray.tune.search.variant_generator import generate_variants

from caviar.search_spaces import (
    Space,
    from_optuna,
    integer,
    loguniform,
    reverse_loguniform,
    suggest_config,
    to_optuna,
    to_ray_tune,
    uniform,
)

SPACE = Space.from_dict(
    {
        "optimizer": 'choice("sgd", "adam")',
        "momentum": {"sample": "reverse_loguniform(0.9, 0.999)", "when": {"optimizer": "sgd"}},
        "beta1": {"sample": "reverse_loguniform(0.8, 0.99)", "when": {"optimizer": "adam"}},
        "lr": "loguniform(1e-4, 1)",
        "hidden_units": "integer(50, 100)",
        "batch_size": "pow2(16, 128)",
        "layers": "grid(2, 3)",
        "q": "loguniform(0.001, 1, step=0.001)",
        "epochs": 5,
    }
)


def ray_configs(param_space: dict[str, object], n: int) -> list[dict[str, object]]:
    """Configs resolved by Ray's variant generator, the code a Tuner runs on its param_space."""
    rng = np.random.default_rng(0)
    out = []
    while len(out) < n:
        for _, spec in generate_variants({"config": param_space}, random_state=rng):
            out.append(spec["config"])
    return out


def test_ray_uses_its_own_domains_where_they_draw_the_same_way() -> None:
    space = to_ray_tune(SPACE)
    assert isinstance(space["lr"].get_sampler(), sample.Float._LogUniform)
    assert (space["hidden_units"].lower, space["hidden_units"].upper) == (50, 101)
    assert isinstance(space["optimizer"], sample.Categorical)
    assert space["layers"] == tune.grid_search([2, 3])
    assert space["epochs"] == 5
    assert isinstance(space["batch_size"], sample.Integer)  # a warped one, inclusive bounds
    assert (space["batch_size"].lower, space["batch_size"].upper) == (16, 129)
    assert isinstance(space["momentum"], sample.Function)  # conditional


def test_ray_resolves_conditionals_and_keeps_every_value_inside_the_space() -> None:
    configs = ray_configs(to_ray_tune(SPACE), 400)
    for config in configs:
        active = {k: v for k, v in config.items() if v is not None}
        SPACE.validate(active)
        assert (config["momentum"] is None) == (config["optimizer"] != "sgd")
        assert (config["beta1"] is None) == (config["optimizer"] != "adam")
    assert {c["layers"] for c in configs} == {2, 3}
    assert {c["optimizer"] for c in configs} == {"sgd", "adam"}


def test_conditional_grid_has_no_ray_form() -> None:
    space = Space.from_dict(
        {"opt": "choice('a', 'b')", "g": {"sample": "grid(1, 2)", "when": {"opt": "a"}}}
    )
    with pytest.raises(ValueError, match=r"g: a conditional grid\(\.\.\.\) has no Ray Tune form"):
        to_ray_tune(space)


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
