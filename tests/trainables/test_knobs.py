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
