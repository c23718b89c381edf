"""Spaces: conditional parameters, sampling whole configs, validation, grid points."""

from __future__ import annotations

import pytest

from caviar.search_spaces import Space

SPACE = {
    "optimizer": 'choice("sgd", "adam")',
    "momentum": {"sample": "reverse_loguniform(0.9, 0.999)", "when": {"optimizer": "sgd"}},
    "lr": "loguniform(1e-4, 1)",
    "layers": "grid(2, 3)",
    "epochs": 5,
}


def test_conditional_parameter_exists_only_when_its_condition_holds() -> None:
    space = Space.from_dict(SPACE)
    configs = [space.sample(seed) for seed in range(200)]
    for config in configs:
        assert ("momentum" in config) == (config["optimizer"] == "sgd")
        space.validate(config)
    assert {c["optimizer"] for c in configs} == {"sgd", "adam"}


def test_to_dict_round_trips() -> None:
    space = Space.from_dict(SPACE)
    assert Space.from_dict(space.to_dict()) == space


def test_grid_points_cross_the_grid_parameters() -> None:
    assert Space.from_dict(SPACE).grid_points() == [{"layers": 2}, {"layers": 3}]


def test_constants_are_in_every_config_and_not_searched() -> None:
    space = Space.from_dict(SPACE)
    assert space.sample(0)["epochs"] == 5
    assert "epochs" not in space.searched


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"lr": "loguniform(0, 1)"}, r"lr: loguniform: low must be > 0"),
        (
            {"m": {"sample": "uniform(0, 1)", "when": {"opt": "sgd"}}},
            r"m: condition on unknown parameter 'opt'",
        ),
        (
            {"opt": "choice('a', 'b')", "m": {"sample": "uniform(0, 1)", "when": {"opt": "c"}}},
            r"m: condition value 'c' is not a value of opt",
        ),
        (
            {"x": "uniform(0, 1)", "m": {"sample": "uniform(0, 1)", "when": {"x": 0.5}}},
            r"m: condition parent 'x' must be a choice",
        ),
        ({"m": {"when": {"x": 1}}}, r"m: a conditional parameter needs 'sample:'"),
        ({"m": {"sample": "uniform(0, 1)", "when": {}}}, r"m: 'when' must map parent"),
        ({"m": {"sample": "uniform(0, 1)", "when": {"x": 1}, "if": 2}}, r"m: unknown key 'if'"),
        ({"lr": [1, 2]}, r"lr: a list is ambiguous here"),
        ({"lr": None}, r"lr: expected a distribution or a constant, got null"),
        ({"2lr": 1}, r"parameter names must be identifiers"),
    ],
)
def test_malformed_spaces_are_rejected(mapping: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match=message):
        Space.from_dict(mapping)


def test_validate_rejects_configs_outside_the_space() -> None:
    space = Space.from_dict(SPACE)
    with pytest.raises(ValueError, match="lr: 5 is outside"):
        space.validate({"optimizer": "adam", "lr": 5, "layers": 2, "epochs": 5})
    with pytest.raises(ValueError, match="momentum: present although its condition is false"):
        space.validate({"optimizer": "adam", "momentum": 0.9, "lr": 0.1, "layers": 2, "epochs": 5})
