"""The scales hold statistically: in caviar, after conversion to Ray Tune, and after conversion to Optuna.

Each check draws N >= 20,000 values with a fixed seed and applies a Kolmogorov-Smirnov test (floats,
on the warped scale) or a chi-square test (integers, against the exact expected frequencies). A
correct sampler passes at the 1e-3 level; a sampler on the wrong scale fails by hundreds of sigmas.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import optuna
import pytest
from scipy import stats

from caviar.search_spaces import (
    Distribution,
    Space,
    integer,
    loguniform,
    pow2,
    reverse_loguniform,
    suggest_config,
)
from caviar.tune.space import to_ray_tune

N = 20_000
ALPHA = 1e-3

LR = loguniform(1e-4, 1)
MOMENTUM = reverse_loguniform(0.9, 0.999)
UNITS = integer(50, 100)
LOG_INT = integer(1, 4, log=True)
BATCH = pow2(16, 128)
SPACE = Space.from_dict(
    {
        "lr": repr(LR),
        "momentum": repr(MOMENTUM),
        "hidden_units": repr(UNITS),
        "log_int": repr(LOG_INT),
        "batch_size": repr(BATCH),
    }
)


def caviar_draws(dist: Distribution) -> np.ndarray:
    return dist.sample(N, rng=0)


def ray_draws(dist: Distribution) -> np.ndarray:
    """Through Ray's own ``Domain.sample`` of the converted space."""
    name = next(n for n in SPACE if SPACE[n] == dist)
    domain = to_ray_tune(SPACE)[name]
    return np.asarray(domain.sample(size=N, random_state=np.random.default_rng(0)))


def optuna_study_configs(space: Space, n: int) -> list[dict[str, object]]:
    """``n`` configs suggested through Optuna's RandomSampler by ``suggest_config``."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    return [suggest_config(study.ask(), space) for _ in range(n)]


@pytest.fixture(scope="module")
def optuna_configs() -> list[dict[str, object]]:
    """N configs of the parameters Optuna's own samplers draw differently from caviar's.

    (Optuna's suggest costs ~0.1 ms per parameter: powers of two, plain Optuna integers over the
    exponents, are checked on a smaller study in their own test to keep this file fast.)
    """
    names = ["lr", "momentum", "hidden_units", "log_int"]
    return optuna_study_configs(Space({n: SPACE.params[n] for n in names}), N)


SOURCES = ["caviar", "ray", "optuna"]


@pytest.fixture(params=SOURCES)
def draws(
    request: pytest.FixtureRequest,
) -> Callable[[Distribution], np.ndarray]:
    if request.param == "caviar":
        return caviar_draws
    if request.param == "ray":
        return ray_draws
    configs = request.getfixturevalue("optuna_configs")

    def from_optuna(dist: Distribution) -> np.ndarray:
        name = next(n for n in SPACE if SPACE[n] == dist)
        return np.asarray([c[name] for c in configs])

    return from_optuna


def test_log10_of_loguniform_is_uniform(draws: Callable[[Distribution], np.ndarray]) -> None:
    x = draws(LR)
    assert len(x) == N and x.min() >= 1e-4 and x.max() <= 1
    assert stats.kstest(np.log10(x), stats.uniform(loc=-4, scale=4).cdf).pvalue > ALPHA
    # and it is not uniform on the linear scale
    assert stats.kstest(x, stats.uniform(loc=1e-4, scale=1 - 1e-4).cdf).pvalue < 1e-100


def test_log10_of_one_minus_reverse_loguniform_is_uniform(
    draws: Callable[[Distribution], np.ndarray],
) -> None:
    x = draws(MOMENTUM)
    assert x.min() >= 0.9 and x.max() <= 0.999
    z = np.log10(1 - x)
    assert stats.kstest(z, stats.uniform(loc=-3, scale=2).cdf).pvalue > ALPHA


def chisquare_pvalue(values: np.ndarray, support: list[int], probabilities: np.ndarray) -> float:
    assert set(np.unique(values).tolist()) <= set(support), "a value outside the support"
    observed = np.array([(values == k).sum() for k in support])
    return float(stats.chisquare(observed, probabilities * len(values)).pvalue)


def test_integer_hits_both_ends_and_is_uniform(draws: Callable[[Distribution], np.ndarray]) -> None:
    x = draws(UNITS)
    assert x.min() == 50 and x.max() == 100
    support = list(range(50, 101))
    assert chisquare_pvalue(x, support, np.full(51, 1 / 51)) > ALPHA


def test_log_integer_draws_each_value_by_its_log_width(
    draws: Callable[[Distribution], np.ndarray],
) -> None:
    x = draws(LOG_INT)
    widths = np.diff(np.log([0.5, 1.5, 2.5, 3.5, 4.5]))
    assert chisquare_pvalue(x, [1, 2, 3, 4], widths / widths.sum()) > ALPHA
    # Ray's own lograndint floors exp(U): it would never draw the top value 4
    assert (x == 4).mean() > 0.1


@pytest.mark.parametrize("source", ["caviar", "ray", "optuna"])
def test_powers_of_two_are_uniform_over_exponents(source: str) -> None:
    if source == "optuna":
        space = Space({"batch_size": SPACE.params["batch_size"]})
        x = np.asarray([c["batch_size"] for c in optuna_study_configs(space, 4000)])
    else:
        x = caviar_draws(BATCH) if source == "caviar" else ray_draws(BATCH)
    assert chisquare_pvalue(x, [16, 32, 64, 128], np.full(4, 0.25)) > ALPHA


def test_a_wrong_scale_is_caught() -> None:
    """The tests have power: linear draws fail the log test, and Ray's lograndint the frequencies."""
    from ray import tune

    linear = np.random.default_rng(0).uniform(1e-4, 1, N)
    assert stats.kstest(np.log10(linear), stats.uniform(loc=-4, scale=4).cdf).pvalue < 1e-100
    floored = np.asarray(tune.lograndint(1, 5).sample(size=N, random_state=0))
    widths = np.diff(np.log([0.5, 1.5, 2.5, 3.5, 4.5]))
    assert chisquare_pvalue(floored, [1, 2, 3, 4], widths / widths.sum()) < 1e-100
