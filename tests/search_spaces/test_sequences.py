"""``grid(logspace(-4, 4, 100))``: numpy's sequences as the values of a grid or a choice."""

from __future__ import annotations

import numpy as np
import pytest

from caviar.search_spaces import Grid, choice, parse


def test_logspace_in_a_grid_is_numpys_logspace() -> None:
    dist = parse("grid(logspace(-4, 4, 100))")
    assert isinstance(dist, Grid) and len(dist.values) == 100
    np.testing.assert_array_equal(dist.values, np.logspace(-4, 4, 100))
    assert all(type(v) is float for v in dist.values)


def test_linspace_and_literals_mix() -> None:
    assert parse("choice(0, linspace(0.25, 1, 4))") == choice(0, 0.25, 0.5, 0.75, 1.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("grid(logspace(-4, 4))", "logspace takes (start, stop, num)"),
        ("grid(logspace(-4, 4, 2.5))", "num must be an integer"),
        ("grid(logspace(-4, 4, 0))", "num must be an integer in [1, 10000]"),
        ("grid(logspace(-4, 4, 10**9))", "must be literal"),
        ("grid(logspace('a', 4, 3))", "logspace takes (start, stop, num)"),
        ("grid(logspace(-4, 4, num=3))", "must be literal"),
        ("grid(arange(0, 4, 1))", "must be literal"),
    ],
)
def test_bad_sequences_are_refused(text: str, message: str) -> None:
    with pytest.raises(
        ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")
    ):
        parse(text)
