"""Properties every distribution must have, checked on generated distributions (hypothesis).

parse(repr(d)) == d; from_unit(to_unit(x)) == x for values x of d; samples inside d; zoom inside d.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caviar.search_spaces import (
    Distribution,
    Space,
    choice,
    constant,
    grid,
    integer,
    loguniform,
    parse,
    pow2,
    reverse_loguniform,
    uniform,
    zoom,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(1e-8, 1e6, allow_nan=False, allow_infinity=False)
fraction = st.floats(0.0, 0.99999, allow_nan=False, allow_infinity=False)


@st.composite
def uniforms(draw: st.DrawFn) -> Distribution:
    a, b = sorted((draw(finite), draw(finite)))
    if draw(st.booleans()):
        steps = draw(st.integers(1, 50))
        step = draw(st.sampled_from([0.5, 0.25, 0.1, 1.0, 2.0]))
        return uniform(a, a + steps * step, step=step)
    return uniform(a, b)


@st.composite
def loguniforms(draw: st.DrawFn) -> Distribution:
    a, b = sorted((draw(positive), draw(positive)))
    if draw(st.booleans()):
        step = draw(st.sampled_from([1e-3, 0.01, 0.5, 1.0]))
        return loguniform(step, step * draw(st.integers(1, 200)), step=step)
    return loguniform(a, b)


@st.composite
def reverse_loguniforms(draw: st.DrawFn) -> Distribution:
    a, b = sorted((draw(fraction), draw(fraction)))
    return reverse_loguniform(a, b)


@st.composite
def integers(draw: st.DrawFn) -> Distribution:
    kind = draw(st.sampled_from(["linear", "step", "log", "pow2"]))
    low = draw(st.integers(-1000, 1000))
    if kind == "step":
        step = draw(st.integers(1, 20))
        return integer(low, low + step * draw(st.integers(0, 30)), step=step)
    if kind == "log":
        low = draw(st.integers(1, 1000))
        return integer(low, low + draw(st.integers(0, 10_000)), log=True)
    if kind == "pow2":
        lo = draw(st.integers(0, 20))
        return pow2(2**lo, 2 ** (lo + draw(st.integers(0, 10))))
    return integer(low, low + draw(st.integers(0, 1000)))


scalars = st.one_of(st.integers(-100, 100), st.text("abcxyz_", min_size=1, max_size=5))


@st.composite
def choices(draw: st.DrawFn) -> Distribution:
    if draw(st.booleans()):
        values = draw(st.lists(st.integers(-100, 100), min_size=1, max_size=6, unique=True))
    else:
        values = draw(st.lists(st.text("abcxyz", min_size=1, max_size=4), min_size=1, unique=True))
    factory = draw(st.sampled_from([choice, grid]))
    return factory(*values)


constants = scalars.map(constant)
numeric = st.one_of(uniforms(), loguniforms(), reverse_loguniforms(), integers())
distributions = st.one_of(numeric, choices(), constants)


@SETTINGS
@given(distributions)
def test_repr_parses_back(dist: Distribution) -> None:
    assert parse(repr(dist)) == dist


@SETTINGS
@given(distributions, st.integers(0, 2**32 - 1))
def test_samples_lie_inside_and_round_trip_through_the_unit_interval(
    dist: Distribution, seed: int
) -> None:
    values = dist.sample(200, rng=seed)
    assert len(values) == 200
    assert all(dist.contains(v) for v in values)
    back = dist.from_unit(dist.to_unit(values))
    if dist.value_type == "float":
        np.testing.assert_allclose(back.astype(float), values.astype(float), rtol=1e-9, atol=0)
    else:
        assert back.tolist() == values.tolist()
    unit = dist.to_unit(values)
    assert np.all((unit >= 0) & (unit <= 1))


def _bounds(dist: Distribution) -> tuple[float, float]:
    return float(dist.low), float(dist.high)  # type: ignore[attr-defined]


@SETTINGS
@given(
    numeric,
    st.integers(0, 2**32 - 1),
    st.integers(1, 10),
    st.floats(0, 1, allow_nan=False),
)
def test_zoom_never_leaves_the_original_bounds(
    dist: Distribution, seed: int, top_k: int, margin: float
) -> None:
    space = Space.from_dict({"x": dist, "opt": choice("a", "b", "c")})
    rng = np.random.default_rng(seed)
    trials = [{**space.sample(rng), "loss": float(rng.random())} for _ in range(20)]
    zoomed = zoom(space, trials, "loss", "min", top_k=top_k, margin=margin)
    new = zoomed["x"]
    assert type(new) is type(dist)
    low, high = _bounds(dist)
    new_low, new_high = _bounds(new)
    assert low <= new_low <= new_high <= high
    best = sorted(trials, key=lambda t: t["loss"])[:top_k]
    assert all(new.contains(t["x"]) for t in best), "the zoom keeps the best trials"
    assert all(dist.contains(v) for v in new.sample(100, rng=seed))
    assert set(zoomed["opt"].values) == {t["opt"] for t in best}  # type: ignore[attr-defined]
