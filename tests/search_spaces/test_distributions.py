"""Distributions: bounds, scales, parse round trips, and errors that name the bad value."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from caviar.search_spaces import (
    Float,
    choice,
    constant,
    grid,
    integer,
    loguniform,
    parse,
    pow2,
    reverse_loguniform,
    uniform,
)

EXAMPLES = [
    loguniform(1e-4, 1),
    reverse_loguniform(0.9, 0.999),
    uniform(-1, 1),
    uniform(0, 1, step=0.25),
    loguniform(1e-3, 1, step=1e-3),
    integer(50, 100),
    integer(1, 4, log=True),
    integer(0, 100, step=10),
    choice(16, 32, 64, 128),
    choice("sgd", "adam"),
    grid(0.1, 0.2),
    constant(3),
]


@pytest.mark.parametrize("dist", EXAMPLES, ids=repr)
def test_repr_parses_back_to_an_equal_distribution(dist: object) -> None:
    assert parse(repr(dist)) == dist


@pytest.mark.parametrize("dist", EXAMPLES, ids=repr)
def test_samples_lie_inside_the_distribution(dist: object) -> None:
    values = dist.sample(500, rng=1)  # type: ignore[attr-defined]
    assert len(values) == 500
    assert all(dist.contains(v) for v in values)  # type: ignore[attr-defined]


def test_the_same_seed_gives_the_same_samples() -> None:
    lr = loguniform(1e-4, 1)
    np.testing.assert_array_equal(lr.sample(10, rng=7), lr.sample(10, rng=7))
    assert not np.array_equal(lr.sample(10, rng=7), lr.sample(10, rng=8))


def test_design_example() -> None:
    lr = loguniform(1e-4, 1)
    assert parse("loguniform(1e-4, 1)") == lr
    x = lr.sample(1000, rng=0)
    assert isinstance(x, np.ndarray) and x.min() >= 1e-4 and x.max() <= 1


def test_integer_includes_both_ends() -> None:
    values = set(integer(50, 100).sample(5000, rng=0).tolist())
    assert values == set(range(50, 101))


def test_log_integer_draws_each_value_by_its_log_width() -> None:
    """Chi-square against log(k + 0.5) - log(k - 0.5): the top value 4 keeps its share."""
    draws = integer(1, 4, log=True).sample(40_000, rng=0)
    widths = np.diff(np.log([0.5, 1.5, 2.5, 3.5, 4.5]))
    observed = np.bincount(draws, minlength=5)[1:]
    assert observed.sum() == len(draws)  # nothing outside 1..4
    assert stats.chisquare(observed, widths / widths.sum() * len(draws)).pvalue > 1e-3
    # the test has power: equal frequencies (a linear integer) are rejected
    assert stats.chisquare(observed, np.full(4, len(draws) / 4)).pvalue < 1e-100


def test_powers_of_two() -> None:
    bs = pow2(16, 128)
    assert bs == integer(16, 128, base=2) == parse("pow2(16, 128)")
    assert repr(bs) == "integer(16, 128, base=2)"
    assert bs.values() == [16, 32, 64, 128] and bs.size == 4
    assert bs.contains(64) and not bs.contains(48) and not bs.contains(256)
    assert bs.from_unit([0.0, 0.3, 0.6, 1.0]).tolist() == [16, 32, 64, 128]
    assert bs.from_unit(bs.to_unit([16, 32, 64, 128])).tolist() == [16, 32, 64, 128]
    assert integer(1, 81, base=3).values() == [1, 3, 9, 27, 81]


def test_stepped_floats_give_the_end_points_their_full_share() -> None:
    draws = uniform(0, 1, step=0.25).sample(20_000, rng=0)
    _, counts = np.unique(draws, return_counts=True)
    assert len(counts) == 5
    assert stats.chisquare(counts).pvalue > 1e-3
    assert uniform(0, 1, step=0.25).contains(0.75) and not uniform(0, 1, step=0.25).contains(0.7)


def test_reverse_loguniform_is_log_uniform_in_one_minus_x() -> None:
    x = reverse_loguniform(0.9, 0.999).sample(20_000, rng=0)
    z = np.log10(1 - x)
    assert z.min() >= -3 - 1e-9 and z.max() <= -1 + 1e-9
    counts, _ = np.histogram(z, bins=4, range=(-3, -1))
    assert counts.min() > 0.9 * counts.max()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("loguniform(0, 1)", r"loguniform: low must be > 0, got 0"),
        ("loguniform(-1, 1)", r"loguniform: low must be > 0, got -1"),
        ("uniform(2, 1)", r"uniform: low must be <= high, got low=2, high=1"),
        ("uniform('a', 1)", r"uniform: low must be a number, got 'a'"),
        ("uniform(0, float('inf'))", r"arguments must be literal"),
        ("uniform(0, 1, step=0)", r"uniform: step must be > 0, got 0"),
        ("reverse_loguniform(0.9, 1)", r"reverse_loguniform: bounds must lie in \[0, 1\)"),
        ("reverse_loguniform(-0.1, 0.9)", r"reverse_loguniform: bounds must lie in \[0, 1\)"),
        ("integer(3, 1)", r"integer: low must be <= high, got low=3, high=1"),
        ("integer(1.5, 3)", r"integer: low must be an integer, got 1.5"),
        ("integer(0, 4, log=True)", r"integer: low must be >= 1 on a log scale, got 0"),
        ("integer(0, 10, step=3)", r"integer: high - low must be a multiple of step"),
        ("integer(0, 10, step=0)", r"integer: step must be >= 1, got 0"),
        ("choice()", r"choice: needs at least one value, got none"),
        ("choice(1, 1)", r"choice: values must be distinct"),
        ("choice(1, 'a')", r"choice: values must share one type"),
        ("grid()", r"grid: needs at least one value"),
        ("logunifrom(1, 2)", r"unknown distribution 'logunifrom'"),
        ("loguniform(1e-4,", r"cannot parse"),
        (
            "loguniform(1e-4, x)",
            r"loguniform: arguments must be literal numbers or strings, got 'x'",
        ),
        ("uniform(__import__('os'), 1)", r"arguments must be literal"),
        ("loguniform(1e-4)", r"loguniform: bad arguments"),
        ("loguniform(1e-4, 1, base=2)", r"loguniform: bad arguments"),
        ("os.system('x')", r"expected a call such as loguniform"),
        ("loguniform(1e-4, 1e999)", r"loguniform: high must be finite, got inf"),
        ("uniform(0, 1, step=0.3)", r"uniform: high - low must be a multiple of step"),
        ("uniform(0, 1, step='a')", r"uniform: step must be a number, got 'a'"),
        ("uniform(True, 2)", r"uniform: low must be a number, got True"),
        ("reverse_loguniform(0.5, 0.9, step=0.1)", r"reverse_loguniform: bad arguments"),
        ("integer(1, 10, step=2.5)", r"integer: step must be an integer, got 2.5"),
        ("integer(1, 4, log='yes')", r"integer: log must be True or False, got 'yes'"),
        ("integer(2, 8, step=2, log=True)", r"integer: step must be 1 on a log scale, got 2"),
        ("integer(16, 100, base=2)", r"integer: high must be a power of 2, got 100"),
        ("integer(12, 128, base=2)", r"integer: low must be a power of 2, got 12"),
        ("integer(1, 8, base=1)", r"integer: base must be an integer >= 2, got 1"),
        ("integer(1, 8, log=True, base=2)", r"integer: base=2 cannot be combined with step or log"),
        ("pow2(0, 8)", r"integer: low must be a power of 2, got 0"),
        ("pow2(64, 16)", r"integer: low must be <= high, got low=64, high=16"),
        ("choice(1e999)", r"choice: values must be finite, got inf"),
        ("choice([1, 2])", r"choice: values must be numbers or strings, got \[1, 2\]"),
        ("constant((1,))", r"constant: values must be numbers or strings"),
        ("loguniform(*[1, 2])", r"loguniform: arguments must be literal"),
        ("loguniform(1e-4, 1, **{})", r"loguniform: \*\* arguments are not allowed"),
    ],
)
def test_malformed_distributions_are_rejected_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(text)


def test_values_outside_a_distribution_are_rejected_where_they_come_in() -> None:
    with pytest.raises(
        ValueError, match=r"choice\('sgd', 'adam'\): 'sgdd' is not one of the values"
    ):
        choice("sgd", "adam").to_unit(["sgdd"])
    with pytest.raises(ValueError, match=r"float: scale must be 'linear', 'log' or 'reverse_log'"):
        Float(0, 1, "cubic")  # type: ignore[arg-type]
