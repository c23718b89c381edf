"""The mlp's knob ranges: what a spec may set, checked before a sweep starts."""

from __future__ import annotations

from typing import Any

import pytest

from caviar.trainables.knobs import KNOB_RULES, check_knob
from caviar.trainables.mlp import DEFAULTS


def test_every_numeric_knob_has_a_rule_and_its_default_passes_it() -> None:
    numeric = {name for name, value in DEFAULTS.items() if not isinstance(value, str)}
    assert numeric == set(KNOB_RULES)
    for name in numeric:
        check_knob(name, DEFAULTS[name])


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("lr", 0, "lr: must be > 0, got 0"),
        ("lr", "1e-3", "lr: must be a number, got '1e-3'"),
        ("momentum", 1.0, "momentum: must be < 1, got 1.0"),
        ("dropout", -0.1, "dropout: must be >= 0, got -0.1"),
        ("layers", 1.5, "layers: must be an integer, got 1.5"),
        ("epochs", True, "epochs: must be an integer, got True"),
        ("batch_norm", "yes", "batch_norm: must be true or false, got 'yes'"),
        ("min_lr_ratio", 2, "min_lr_ratio: must be <= 1, got 2"),
    ],
)
def test_a_bad_value_names_the_knob_and_the_value(name: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        check_knob(name, value)


@pytest.mark.parametrize(
    ("name", "value"), [("lr", 1), ("momentum", 0), ("dropout", 1.0), ("layers", 0)]
)
def test_values_at_an_inclusive_bound_pass(name: str, value: Any) -> None:
    check_knob(name, value)


def test_the_declarations_are_what_the_builders_build() -> None:
    import torch

    from caviar.trainables.fused import FUSED_OPTIMIZERS
    from caviar.trainables.knobs import ACTIVATION_NAMES, LR_SCHEDULES, MLP_KNOBS, OPTIMIZERS
    from caviar.trainables.mlp import ACTIVATIONS, with_defaults
    from caviar.trainables.optim import build_optimizer, lr_factor

    assert set(ACTIVATIONS) == set(ACTIVATION_NAMES)
    weights = [torch.nn.Parameter(torch.zeros(2))]
    for name in OPTIMIZERS:
        assert build_optimizer(with_defaults({"optimizer": name}), weights) is not None
    for schedule in LR_SCHEDULES:
        assert lr_factor(with_defaults({"lr_schedule": schedule}), 3) > 0
    assert set(FUSED_OPTIMIZERS) < set(OPTIMIZERS)
    assert {name: knob.default for name, knob in MLP_KNOBS.items()} == DEFAULTS


def test_a_choice_knob_names_its_choices() -> None:
    with pytest.raises(ValueError, match=r"^optimizer: unknown value 'lion' \(known: adadelta, "):
        check_knob("optimizer", "lion")
