"""Searchers that draw configs from a caviar Space, for Ray Tune.

Trial ``i`` of a sweep gets the config drawn from ``default_rng([seed, i])``: the same seed gives the
same configs in the same order, whatever the concurrency, and a resumed sweep continues the
sequence. Each config also carries ``seed``, the trial's own derived seed for the trainable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from ray.tune.search import ConcurrencyLimiter, Searcher, SearchGenerator

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


class ResumableSearch(SearchGenerator):  # type: ignore[misc]
    """Ray Tune's SearchGenerator, whose progress on resume is the restored trial list's length.

    Tune's snapshot is several files (the trial list, the generator's state, the searcher's state)
    that a background thread uploads one by one, each from whichever save last rewrote it; a kill -9
    can leave them from different moments. Restored as saved, a searcher state ahead of the trial
    list ends the sweep with trials missing (seen: 1 of 6), one behind it runs configs twice. The
    trial list is the truth: trial ``i`` was created with config ``i``, so the generator and a
    SpaceSearcher continue at ``len(trials)``.
    """

    def has_checkpoint(self, dirpath: str) -> bool:
        return bool(super().has_checkpoint(dirpath)) or _restored_trials(dirpath) is not None

    def restore_from_dir(self, dirpath: str) -> None:
        if not super().has_checkpoint(dirpath):
            # A trial list without the generator's state (its upload had not finished): Tune
            # cannot continue it, so it starts the sweep afresh (it catches this error).
            raise RuntimeError(f"no search state next to the experiment state in {dirpath}")
        super().restore_from_dir(dirpath)
        created = _restored_trials(dirpath)
        if created is None:
            return
        self._counter = created
        self._finished = created >= self._total_samples
        base = self.searcher
        while hasattr(base, "searcher"):
            base = base.searcher
        if isinstance(base, SpaceSearcher):
            base.count = created


def _restored_trials(dirpath: str) -> int | None:
    """How many trials the experiment state Tune restores from lists (None: there is none).

    Tune reads the newest ``experiment_state-*.json`` of the experiment directory, which it has
    just copied into ``dirpath``; this reads the same file.
    """
    from ray.tune.execution.tune_controller import TuneController

    paths = sorted(Path(dirpath).glob(TuneController.CKPT_FILE_TMPL.format("*")))
    if not paths:
        return None
    try:
        state = json.loads(paths[-1].read_text())
    except (OSError, ValueError):
        return None  # Tune cannot read it either and starts the experiment afresh
    return len(state.get("trial_data", []))


def search_algorithm(searcher: Searcher, max_concurrent: int | None) -> ResumableSearch:
    """The search algorithm handed to Tune: the searcher, its concurrency limit, resumable."""
    if max_concurrent:
        searcher = ConcurrencyLimiter(searcher, max_concurrent=max_concurrent)
    return ResumableSearch(searcher)
