"""Searchers that draw configs from a caviar Space, for Ray Tune.

Trial ``i`` of a sweep gets the config drawn from ``default_rng([seed, i])``: the same seed gives the
same configs in the same order, whatever the concurrency, and a resumed sweep continues the
sequence. Each config also carries ``seed``, the trial's own derived seed for the trainable.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from ray.tune.search import Searcher

from caviar.search_spaces import Config, Space

SEED_KEY = "seed"


def trial_seed(sweep_seed: int, index: int) -> int:
    """The seed trial ``index`` trains with: distinct per trial, fixed by the sweep's seed."""
    return int(np.random.default_rng([sweep_seed, index, 1]).integers(2**31 - 1))


class SpaceSearcher(Searcher):  # type: ignore[misc]
    """Random search, or grid search (grid params crossed, ``repeats`` random draws per point)."""

    def __init__(
        self,
        space: Space,
        seed: int,
        total: int,
        grid: bool = False,
        repeats: int = 1,
    ) -> None:
        super().__init__()  # metric and mode come from the TuneConfig
        self.space = space
        self.seed = seed
        self.total = total
        self.grid_points = space.grid_points() if grid else [{}]
        self.repeats = repeats
        self.count = 0

    def config_at(self, index: int) -> Config:
        """The config of the sweep's ``index``-th trial."""
        rng = np.random.default_rng([self.seed, index])
        point = self.grid_points[(index // self.repeats) % len(self.grid_points)]
        config = self.space.sample_at(point, rng)
        if SEED_KEY not in self.space:
            config[SEED_KEY] = trial_seed(self.seed, index)
        return config

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self.count >= self.total:
            return Searcher.FINISHED  # type: ignore[no-any-return, return-value]
        config = self.config_at(self.count)
        self.count += 1
        return config

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        """Random and grid search learn nothing from results."""

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "w") as file:
            json.dump({"count": self.count}, file)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path) as file:
            self.count = int(json.load(file)["count"])


def total_trials(space: Space, algorithm: str, num_samples: int) -> int:
    """How many trials a sweep runs: num_samples, times the grid's size for a grid search."""
    if algorithm == "grid":
        return len(space.grid_points()) * num_samples
    return num_samples
