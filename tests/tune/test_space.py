"""Conversion of a caviar Space to Ray Tune param spaces: Ray's own domains, bounds, conditionals."""

from __future__ import annotations

import numpy as np
import pytest
from ray import tune
from ray.tune.search import sample
from ray.tune.search.variant_generator import generate_variants

from caviar.search_spaces import Space
from caviar.tune.space import to_ray_tune
from tests.search_spaces.shared import SPACE


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
