"""Objective decides "better" for every module: the two directions, NaN and None."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caviar.objective import Objective, as_mode


def test_min_and_max_order_values_opposite_ways() -> None:
    low, high = Objective("loss", "min"), Objective("acc", "max")
    assert low.better(1.0, 2.0) and not low.better(2.0, 1.0)
    assert high.better(2.0, 1.0) and not high.better(1.0, 2.0)
    assert (low.sign, high.sign) == (1.0, -1.0)
    assert (low.direction, high.direction) == ("minimize", "maximize")
    assert low.ascending and not high.ascending


def test_nan_never_wins_and_anything_beats_nothing() -> None:
    objective = Objective("loss")
    assert not objective.better(math.nan, 1.0)
    assert objective.better(5.0, None) and objective.better(5.0, math.nan)
    assert objective.best([math.nan, 3.0, math.nan, 2.0]) == 2.0
    assert objective.best([math.nan]) is None


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1))
def test_best_is_min_or_max(values: list[float]) -> None:
    assert Objective("m", "min").best(values) == min(values)
    assert Objective("m", "max").best(values) == max(values)


def test_a_bad_mode_names_itself() -> None:
    with pytest.raises(ValueError, match="'up'"):
        Objective("m", "up")  # type: ignore[arg-type]
    assert as_mode("max") == "max" and as_mode(None) == "min"
