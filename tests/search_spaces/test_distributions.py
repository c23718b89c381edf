"""Distributions: bounds, scales, parse round trips, and errors that name the bad value."""

from __future__ import annotations

import numpy as np
import pytest

from caviar.search_spaces import (
    choice,
    constant,
    grid,
    integer,
    loguniform,
    parse,
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
    draws = integer(1, 4, log=True).sample(40_000, rng=0)
    widths = np.diff(np.log([0.5, 1.5, 2.5, 3.5, 4.5]))
    expected = widths / widths.sum()
    observed = np.bincount(draws, minlength=5)[1:] / len(draws)
    np.testing.assert_allclose(observed, expected, atol=0.01)


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
    ],
)
def test_malformed_distributions_are_rejected_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(text)
