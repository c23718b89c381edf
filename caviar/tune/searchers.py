"""Searchers that draw configs from a caviar Space, for Ray Tune.

Random and grid (``SpaceSearcher``): trial ``i`` of a sweep gets the config drawn from
``default_rng([seed, i])``: the same seed gives the same configs in the same order, whatever the
concurrency, and a resumed sweep continues the sequence. Each config also carries ``seed``, the
trial's own derived seed for the trainable.

Coarse-to-fine (``CoarseToFineSearcher``): rounds of random search, each in the previous round's
space zoomed around its best trials. TPE (``tpe_searcher``): Optuna's TPESampler through Ray Tune's
OptunaSearch, define-by-run so conditional parameters stay absent. ``ConfirmingSearcher`` wraps
any of them to re-train the winners with fresh seeds. Every one saves and restores its state
through Tune, so ``caviar resume`` continues the same search.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from ray.tune.search import ConcurrencyLimiter, Searcher, SearchGenerator

from caviar.search_spaces import Config, Space
from caviar.trainables.adapter import CONFIRM_KEY, ROUND_KEY

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


def round_sizes(total: int, rounds: int) -> list[int]:
    """``total`` trials split over ``rounds`` rounds as evenly as possible, earlier rounds first."""
    if rounds < 1 or total < rounds:
        raise ValueError(
            f"round_sizes: need 1 <= rounds <= total, got rounds={rounds}, total={total}"
        )
    return [total // rounds + (1 if i < total % rounds else 0) for i in range(rounds)]


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
        config = self.space.sample(np.random.default_rng([self.seed, self.count]))
        if SEED_KEY not in self.space:
            config[SEED_KEY] = trial_seed(self.seed, self.count)
        config[ROUND_KEY] = self.round + 1
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
        from caviar.search_spaces import zoom

        inside = []
        for trial_id in self.done:
            params = {k: v for k, v in self.configs[trial_id].items() if k in self.space}
            try:
                self.space.validate(params)
            except ValueError:
                continue
            if trial_id in self.best:
                inside.append({**params, "__metric__": self.best[trial_id]})
        if inside:
            mode: Literal["min", "max"] = "max" if self.mode == "max" else "min"
            self.space = zoom(self.space, inside, "__metric__", mode, self.top_k, self.margin)
        self.round += 1
        self.suggested_in_round = 0
        self.finished_in_round = 0

    def _observe(self, trial_id: str, result: dict[str, Any]) -> None:
        value = result.get(self.metric)
        if not isinstance(value, int | float) or isinstance(value, bool):
            return
        if not math.isfinite(value):
            return
        old = self.best.get(trial_id)
        better = old is None or (value > old if self.mode == "max" else value < old)
        if better:
            self.best[trial_id] = float(value)


class TpeSpace:
    """Optuna's define-by-run function for a Space: suggests only active parameters.

    A class, not a closure, because Ray pickles the searcher (and this with it) for resume.
    Optuna sees a reverse_loguniform ``x`` as ``1 - x`` on a log scale (see ``convert``); the
    config gets the caviar value, and ``seed`` derived from the trial's number.
    """

    def __init__(self, space: Space, seed: int) -> None:
        self.space = space
        self.seed = seed

    def __call__(self, trial: Any) -> dict[str, Any]:
        from caviar.search_spaces import suggest_config

        config: dict[str, Any] = dict(suggest_config(trial, self.space))
        if SEED_KEY not in self.space:
            config[SEED_KEY] = trial_seed(self.seed, int(trial.number))
        return config


def tpe_searcher(
    space: Space,
    seed: int,
    metric: str,
    mode: str,
    n_startup_trials: int | None = None,
    storage: Any = None,
) -> Searcher:
    """Optuna's TPE through Ray Tune's OptunaSearch, seeded, on the Space's own scales.

    ``storage``: an Optuna storage whose study ``optuna`` already holds trials (a warm start).
    """
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    options: dict[str, Any] = {"seed": seed}
    if n_startup_trials is not None:
        options["n_startup_trials"] = n_startup_trials
    sampler = optuna.samplers.TPESampler(**options)
    # Metric and mode are given here: Tune hands them to a searcher only with a param_space.
    if storage is not None:
        return OptunaSearch(
            space=TpeSpace(space, seed),
            metric=metric,
            mode=mode,
            sampler=sampler,
            storage=storage,
            study_name="optuna",
        )
    return OptunaSearch(space=TpeSpace(space, seed), metric=metric, mode=mode, sampler=sampler)


def optuna_searcher(
    space: Space,
    seed: int,
    objectives: Sequence[tuple[str, str]],
    algorithm: str,
    n_startup_trials: int | None = None,
    population_size: int | None = None,
    storage: Any = None,
) -> Searcher:
    """TPE or NSGA-II through OptunaSearch, for one objective or several (metric/mode lists).

    ``storage``: an Optuna storage already holding an earlier sweep's trials (a warm start; one
    objective, TPE).

    With several objectives Optuna learns from each finished trial's last values of all of them
    (Ray hands it no intermediate results then); TPE models them jointly, NSGA-II evolves a
    population toward the front.
    """
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    if algorithm == "tpe" and len(objectives) == 1:
        metric, mode = objectives[0]
        return tpe_searcher(space, seed, metric, mode, n_startup_trials, storage)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler: optuna.samplers.BaseSampler
    if algorithm == "nsga2":
        options: dict[str, Any] = {"seed": seed}
        if population_size is not None:
            options["population_size"] = population_size
        sampler = optuna.samplers.NSGAIISampler(**options)
    else:
        tpe: dict[str, Any] = {"seed": seed}
        if n_startup_trials is not None:
            tpe["n_startup_trials"] = n_startup_trials
        sampler = optuna.samplers.TPESampler(**tpe)
    metrics = [m for m, _ in objectives]
    modes = [m for _, m in objectives]
    single = len(objectives) == 1
    return OptunaSearch(
        space=TpeSpace(space, seed),
        metric=metrics[0] if single else metrics,
        mode=modes[0] if single else modes,
        sampler=sampler,
    )


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
                self.configs, self.best, self.mode, self.top_k, self.seeds, self.seed
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
        value = result.get(self.metric)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            old = self.best.get(trial_id)
            if old is None or (value > old if self.mode == "max" else value < old):
                self.best[trial_id] = float(value)


def confirmations(
    configs: dict[str, dict[str, Any]],
    best: dict[str, float],
    mode: str,
    top_k: int,
    seeds: int,
    seed: int,
) -> list[dict[str, Any]]:
    """The confirmation configs: the ``top_k`` best trials, ``seeds`` fresh seeds each."""
    ranked = sorted(best, key=lambda t: best[t], reverse=mode == "max")[:top_k]
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


class ResumableSearch(SearchGenerator):  # type: ignore[misc]
    """Ray Tune's SearchGenerator, whose progress on resume is the restored trial list's length.

    Tune's snapshot is several files (the trial list, the generator's state, the searcher's state)
    that a background thread uploads one by one, each from whichever save last rewrote it; a kill -9
    can leave them from different moments. Restored as saved, a searcher state ahead of the trial
    list ends the sweep with trials missing (seen: 1 of 6), one behind it runs configs twice. The
    trial list is the truth: trial ``i`` was created with config ``i``, so the generator and a
    SpaceSearcher continue at ``len(trials)``.
    """

    # ``caviar extend`` raises the sweep's budget: set before Tune restores the search (see
    # ``grow``), applied after, since the restored state carries the old totals.
    plan: SearchPlan | None = None
    # Trials that ``caviar continue`` trains past their planned epochs: the searcher has their
    # results already (TPE told them), so their new ones are not passed on.
    frozen: frozenset[str] = frozenset()

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        if trial_id not in self.frozen:
            super().on_trial_result(trial_id, result)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        if trial_id not in self.frozen:
            super().on_trial_complete(trial_id, result=result, error=error)

    def has_checkpoint(self, dirpath: str) -> bool:
        from caviar.orchestrator.reconcile import restored_trials

        return bool(super().has_checkpoint(dirpath)) or restored_trials(dirpath) is not None

    def restore_from_dir(self, dirpath: str) -> None:
        if not super().has_checkpoint(dirpath):
            # A trial list without the generator's state (its upload had not finished): Tune
            # cannot continue it, so it starts the sweep afresh (it catches this error).
            raise RuntimeError(f"no search state next to the experiment state in {dirpath}")
        super().restore_from_dir(dirpath)
        from caviar.orchestrator.reconcile import reconcile, restored_trials

        trials = restored_trials(dirpath)
        if trials is None:
            return
        self._counter = len(trials)
        self._finished = len(trials) >= self._total_samples
        reconcile(self.searcher, trials)  # per-trial state (TPE, confirm:) and the next config
        if self.plan is not None:
            self.grow(self.plan)

    def grow(self, plan: SearchPlan) -> None:
        """Raise the trials this search makes to ``plan`` (never lowers them).

        Random search continues its seeded stream (trial ``i`` is ``config_at(i)`` as in a sweep
        planned that large), coarse-to-fine gets the plan's extra rounds, TPE's study goes on
        learning from every result it was told.
        """
        self._total_samples = max(self._total_samples, plan.total)
        self._finished = self._counter >= self._total_samples
        from caviar.orchestrator.reconcile import unwrap

        base = unwrap(self.searcher)
        if isinstance(base, SpaceSearcher):
            base.total = max(base.total, plan.total)
        elif (
            isinstance(base, CoarseToFineSearcher)
            and plan.rounds is not None
            and list(plan.rounds[: len(base.sizes)]) == base.sizes
        ):
            base.sizes = list(plan.rounds)

    def grow_to(self, total: int) -> bool:
        """Let the running search start ``total`` trials in all (trials added while it runs).

        The searcher continues its stream: random and grid draw config ``i`` as they would have,
        TPE keeps suggesting, coarse-to-fine's last round grows. Never shrinks. False where the
        search cannot grow (confirm: re-trains the winners of a fixed search).
        """
        from caviar.orchestrator.reconcile import unwrap

        base = unwrap(self.searcher)
        if isinstance(base, ConfirmingSearcher):
            return False
        if total <= self._total_samples:
            return True
        if isinstance(base, SpaceSearcher):
            base.total = max(base.total, total)
        elif isinstance(base, CoarseToFineSearcher):
            base.sizes[-1] += max(0, total - sum(base.sizes))
        self._total_samples = total
        self._finished = self._counter >= total
        return True


@dataclass(frozen=True)
class SearchPlan:
    """How many trials a (grown) search makes in all, and coarse-to-fine's round sizes."""

    total: int
    rounds: tuple[int, ...] | None = None


def search_algorithm(searcher: Searcher, max_concurrent: int | None) -> ResumableSearch:
    """The search algorithm handed to Tune: the searcher, its concurrency limit, resumable."""
    if max_concurrent:
        searcher = ConcurrencyLimiter(searcher, max_concurrent=max_concurrent)
    return ResumableSearch(searcher)
