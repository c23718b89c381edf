"""Ray Tune searchers that draw configs from a caviar Space (the decisions: ``caviar.search``).

Random and grid (``SpaceSearcher``): trial ``i`` gets ``streams.config_at(i)``, so the same seed
gives the same configs in the same order whatever the concurrency, and a resumed sweep continues
the sequence. Coarse-to-fine (``CoarseToFineSearcher``): rounds of random search, each in the
previous round's space zoomed around its best trials. ``ConfirmingSearcher`` wraps any searcher to
re-train the winners with fresh seeds. TPE and NSGA-II are Optuna's (``caviar.tune.optuna_search``).
Every one saves and restores its state through Tune, so ``caviar resume`` continues the same search,
and ``grow(plan)`` lets a search make more trials (``caviar extend``, trials added while it runs).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from ray.tune.search import Searcher

from caviar.objective import Objective, as_mode
from caviar.search.plan import SearchPlan
from caviar.search.streams import (
    SEED_KEY,
    config_at,
    confirmations,
    next_round_space,
    observe_best,
    round_config,
    round_sizes,
    total_trials,
    trial_seed,
)
from caviar.search_spaces import Config, Space
from caviar.trainables.adapter import ROUND_KEY

__all__ = [
    "SEED_KEY",
    "CoarseToFineSearcher",
    "ConfirmingSearcher",
    "SpaceSearcher",
    "round_sizes",
    "total_trials",
    "trial_seed",
]


def _objective(searcher: Searcher) -> Objective:
    """The searcher's metric and mode (set by Tune or the constructor) as an Objective."""
    return Objective(str(searcher.metric), as_mode(searcher.mode))


class SpaceSearcher(Searcher):  # type: ignore[misc]
    """Random search, or grid search (grid params crossed, ``repeats`` random draws per point).

    ``total`` None: the stream goes on until Tune stops asking (the sweep's time budget ends).
    """

    def __init__(
        self,
        space: Space,
        seed: int,
        total: int | None,
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
        return config_at(self.space, self.seed, index, self.grid_points, self.repeats)

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self.total is not None and self.count >= self.total:
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

    def grow(self, plan: SearchPlan) -> None:
        """Make ``plan.total`` trials in all (never fewer): the stream just goes on."""
        if self.total is not None:
            self.total = max(self.total, plan.total)


class CoarseToFineSearcher(Searcher):  # type: ignore[misc]
    """Rounds of random search, each zoomed around the ``top_k`` best trials so far.

    Round ``r + 1`` starts only when every trial of round ``r`` has finished (``suggest`` answers
    None meanwhile, and Tune asks again). Its space is ``zoom`` of round ``r``'s space around the
    ``top_k`` best trials (by their best ``metric``) among those that lie inside it, so each round
    narrows the previous one on every parameter's own scale. Trial ``i`` draws from
    ``default_rng([seed, i])``; its config carries ``round`` (1-based) and ``seed``.
    """

    def __init__(
        self,
        space: Space,
        seed: int,
        total: int,
        rounds: int,
        top_k: int,
        margin: float = 0.1,
        metric: str | None = None,
        mode: str | None = None,
    ) -> None:
        super().__init__(metric=metric, mode=mode)
        self.space = space
        self.seed = seed
        self.sizes = round_sizes(total, rounds)
        self.top_k = top_k
        self.margin = margin
        self.round = 0  # 0-based index into sizes
        self.count = 0
        self.suggested_in_round = 0
        self.finished_in_round = 0
        self.configs: dict[str, dict[str, Any]] = {}  # trial_id -> config, suggested trials
        self.best: dict[str, float] = {}  # trial_id -> best metric seen
        self.done: list[str] = []  # finished trial ids, in order

    # Tune's interface

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self.count >= sum(self.sizes):
            return Searcher.FINISHED  # type: ignore[no-any-return, return-value]
        if self.suggested_in_round == self.sizes[self.round]:
            if self.finished_in_round < self.sizes[self.round]:
                return None  # the round is still running
            self.next_round()
        config = round_config(self.space, self.seed, self.count, self.round + 1)
        self.configs[trial_id] = config
        self.count += 1
        self.suggested_in_round += 1
        return dict(config)

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        self._observe(trial_id, result)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        config = self.configs.get(trial_id)
        if config is None or trial_id in self.done:
            return
        if result:
            self._observe(trial_id, result)
        self.done.append(trial_id)
        if config[ROUND_KEY] == self.round + 1:
            self.finished_in_round += 1

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "w") as file:
            json.dump(self.get_state(), file)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path) as file:
            self.set_state(json.load(file))

    def get_state(self) -> dict[str, Any]:
        return {
            "space": self.space.to_dict(),
            "round": self.round,
            "count": self.count,
            "suggested_in_round": self.suggested_in_round,
            "finished_in_round": self.finished_in_round,
            "configs": self.configs,
            "best": self.best,
            "done": self.done,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.space = Space.from_dict(state["space"])
        self.round = int(state["round"])
        self.count = int(state["count"])
        self.suggested_in_round = int(state["suggested_in_round"])
        self.finished_in_round = int(state["finished_in_round"])
        self.configs = dict(state["configs"])
        self.best = {k: float(v) for k, v in state["best"].items()}
        self.done = list(state["done"])

    # The search itself

    def next_round(self) -> None:
        """Zoom the space around the best finished trials that lie inside it; start a round."""
        self.space = next_round_space(
            self.space,
            self.configs,
            self.best,
            self.done,
            _objective(self),
            self.top_k,
            self.margin,
        )
        self.round += 1
        self.suggested_in_round = 0
        self.finished_in_round = 0

    def grow(self, plan: SearchPlan) -> None:
        """Take the plan's rounds (the ones run so far unchanged), or let the last round grow."""
        if plan.rounds is None:
            self.sizes[-1] += max(0, plan.total - sum(self.sizes))
        elif list(plan.rounds[: len(self.sizes)]) == self.sizes:
            self.sizes = list(plan.rounds)

    def _observe(self, trial_id: str, result: dict[str, Any]) -> None:
        observe_best(self.best, trial_id, result, _objective(self))


class ConfirmingSearcher(Searcher):  # type: ignore[misc]
    """Runs the wrapped searcher, then re-trains its ``top_k`` best configs with fresh seeds.

    The confirmation trials start once every search trial has finished; each gets the original
    config with a new ``seed`` and ``confirm_of`` (the original's trial_id). Ray saves the wrapped
    searcher itself and this wrapper's own state through ``get_state``, like its ConcurrencyLimiter.
    """

    def __init__(
        self, searcher: Searcher, top_k: int, seeds: int, seed: int, metric: str, mode: str
    ) -> None:
        super().__init__(metric=metric, mode=mode)
        self.searcher = searcher
        self.top_k = top_k
        self.seeds = seeds
        self.seed = seed
        self.search_done = False
        self.configs: dict[str, dict[str, Any]] = {}  # search trials: trial_id -> config
        self.best: dict[str, float] = {}
        self.live: set[str] = set()
        self.queue: list[dict[str, Any]] | None = None  # confirmation configs still to start

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any
    ) -> bool:
        ok = self.searcher.set_search_properties(metric, mode, config, **spec)
        self._metric, self._mode = metric or self._metric, mode or self._mode
        return bool(ok)

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if not self.search_done:
            config: Any = self.searcher.suggest(trial_id)
            if config is None:
                return None
            if config != Searcher.FINISHED:
                self.configs[trial_id] = dict(config)
                self.live.add(trial_id)
                return config  # type: ignore[no-any-return]
            self.search_done = True
        if self.live:
            return None  # confirmation waits for the search to end
        if self.queue is None:
            self.queue = confirmations(
                self.configs, self.best, _objective(self), self.top_k, self.seeds, self.seed
            )
        if not self.queue:
            return Searcher.FINISHED  # type: ignore[no-any-return, return-value]
        return self.queue.pop(0)

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        if trial_id in self.configs:
            self._observe(trial_id, result)
            self.searcher.on_trial_result(trial_id, result)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        if trial_id not in self.configs:
            return
        if result:
            self._observe(trial_id, result)
        self.live.discard(trial_id)
        self.searcher.on_trial_complete(trial_id, result=result, error=error)

    def get_state(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k != "searcher"}
        return copy.deepcopy(state)

    def set_state(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def save(self, checkpoint_path: str) -> None:
        self.searcher.save(checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        self.searcher.restore(checkpoint_path)

    def _observe(self, trial_id: str, result: dict[str, Any]) -> None:
        observe_best(self.best, trial_id, result, _objective(self))
