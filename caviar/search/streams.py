"""Seeded config streams and the pure decisions of caviar's searchers (no Ray).

Trial ``i`` of a sweep draws its config from ``default_rng([seed, i])``: the same seed gives the
same configs in the same order whatever the concurrency, and a resumed or grown sweep continues
the sequence. Each config also carries ``seed``, the trial's own derived seed for the trainable.
Coarse-to-fine's next space and the confirmation trials are decided here too, from plain values,
so that tests check them without Ray and the Ray searchers (``caviar.tune.searchers``) only wire
them to Tune's interface.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from caviar.objective import Objective
from caviar.search_spaces import Config, Space, zoom
from caviar.trainables.adapter import CONFIRM_KEY, ROUND_KEY

SEED_KEY = "seed"
# The key a zoom ranks by (never a parameter's name: it is dunder-named).
_METRIC = "__metric__"


def trial_seed(sweep_seed: int, index: int) -> int:
    """The seed trial ``index`` trains with: distinct per trial, fixed by the sweep's seed."""
    return int(np.random.default_rng([sweep_seed, index, 1]).integers(2**31 - 1))


def config_at(
    space: Space,
    seed: int,
    index: int,
    grid_points: Sequence[Mapping[str, Any]] = ({},),
    repeats: int = 1,
) -> Config:
    """The config of a sweep's ``index``-th trial: grid point ``index // repeats``, the rest drawn
    from ``default_rng([seed, index])``, plus the trial's ``seed``."""
    rng = np.random.default_rng([seed, index])
    point = grid_points[(index // repeats) % len(grid_points)]
    config = space.sample_at(dict(point), rng)
    if SEED_KEY not in space:
        config[SEED_KEY] = trial_seed(seed, index)
    return config


def round_config(space: Space, seed: int, index: int, round_number: int) -> Config:
    """Coarse-to-fine's ``index``-th config, drawn in the round's space; ``round`` is 1-based."""
    config = space.sample(np.random.default_rng([seed, index]))
    if SEED_KEY not in space:
        config[SEED_KEY] = trial_seed(seed, index)
    config[ROUND_KEY] = round_number
    return config


def total_trials(space: Space, algorithm: str, num_samples: int | None) -> int | None:
    """How many trials a sweep runs: num_samples, times the grid's size for a grid search;
    None for a search that samples until the time budget ends."""
    if num_samples is None:
        return None
    if algorithm == "grid":
        return len(space.grid_points()) * num_samples
    return num_samples


def round_sizes(total: int, rounds: int) -> list[int]:
    """``total`` trials split over ``rounds`` rounds as evenly as possible, earlier rounds first."""
    if rounds < 1 or total < rounds:
        raise ValueError(
            f"round_sizes: need 1 <= rounds <= total, got rounds={rounds}, total={total}"
        )
    return [total // rounds + (1 if i < total % rounds else 0) for i in range(rounds)]


def observe_best(
    best: dict[str, float], trial_id: str, result: Mapping[str, Any], objective: Objective
) -> None:
    """Keep in ``best`` the best finite value of the objective's metric that ``trial_id`` reported."""
    value = result.get(objective.metric)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return
    if objective.better(float(value), best.get(trial_id)):
        best[trial_id] = float(value)


def next_round_space(
    space: Space,
    configs: Mapping[str, Mapping[str, Any]],
    best: Mapping[str, float],
    done: Sequence[str],
    objective: Objective,
    top_k: int,
    margin: float,
) -> Space:
    """Coarse-to-fine's next space: ``space`` zoomed around the ``top_k`` best finished trials
    that lie inside it (unchanged when none does)."""
    inside = []
    for trial_id in done:
        params = {k: v for k, v in configs[trial_id].items() if k in space}
        try:
            space.validate(params)
        except ValueError:
            continue
        if trial_id in best:
            inside.append({**params, _METRIC: best[trial_id]})
    if not inside:
        return space
    return zoom(space, inside, _METRIC, objective.mode, top_k, margin)


def confirmations(
    configs: Mapping[str, Mapping[str, Any]],
    best: Mapping[str, float],
    objective: Objective,
    top_k: int,
    seeds: int,
    seed: int,
) -> list[dict[str, Any]]:
    """The confirmation configs: the ``top_k`` best trials, ``seeds`` fresh seeds each."""
    ranked = sorted(best, key=lambda t: objective.loss(best[t]))[:top_k]
    out = []
    for rank, trial_id in enumerate(ranked):
        for repeat in range(seeds):
            config = {k: v for k, v in configs[trial_id].items() if k != ROUND_KEY}
            # Four entropy words ending in 5 never equal a search trial's [seed, i, 1]
            # (numpy's SeedSequence ignores trailing zeros, so the tag goes last).
            config[SEED_KEY] = int(
                np.random.default_rng([seed, rank, repeat, 5]).integers(2**31 - 1)
            )
            config[CONFIRM_KEY] = trial_id
            out.append(config)
    return out
