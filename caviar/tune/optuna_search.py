"""TPE and NSGA-II: Optuna's samplers through Ray Tune's OptunaSearch, on the Space's own scales.

Define-by-run (``TpeSpace``), so conditional parameters stay absent; Optuna sees each parameter in
the coordinates of ``caviar.search_spaces.optuna`` (a reverse_loguniform ``x`` as ``1 - x`` on a
log scale, a power of two as its exponent), and the config gets the caviar value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ray.tune.search import Searcher

from caviar.search.streams import SEED_KEY, trial_seed
from caviar.search_spaces import Space


class TpeSpace:
    """Optuna's define-by-run function for a Space: suggests only active parameters.

    A class, not a closure, because Ray pickles the searcher (and this with it) for resume. The
    config also gets ``seed``, derived from the Optuna trial's number.
    """

    def __init__(self, space: Space, seed: int) -> None:
        self.space = space
        self.seed = seed

    def __call__(self, trial: Any) -> dict[str, Any]:
        from caviar.search_spaces.optuna import suggest_config

        config: dict[str, Any] = dict(suggest_config(trial, self.space))
        if SEED_KEY not in self.space:
            config[SEED_KEY] = trial_seed(self.seed, int(trial.number))
        return config


def _sampler(
    algorithm: str, seed: int, n_startup_trials: int | None, population_size: int | None
) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    options: dict[str, Any] = {"seed": seed}
    if algorithm == "nsga2":
        if population_size is not None:
            options["population_size"] = population_size
        return optuna.samplers.NSGAIISampler(**options)
    if n_startup_trials is not None:
        options["n_startup_trials"] = n_startup_trials
    return optuna.samplers.TPESampler(**options)


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

    ``storage``: an Optuna storage whose study ``optuna`` already holds an earlier sweep's trials
    (a warm start; one objective, TPE). Metric and mode are given here: Tune hands them to a
    searcher only with a param_space. With several objectives Optuna learns from each finished
    trial's last values of all of them (Ray hands it no intermediate results then); TPE models
    them jointly, NSGA-II evolves a population toward the front.
    """
    from ray.tune.search.optuna import OptunaSearch

    sampler = _sampler(algorithm, seed, n_startup_trials, population_size)
    metrics = [m for m, _ in objectives]
    modes = [m for _, m in objectives]
    single = len(objectives) == 1
    options: dict[str, Any] = {}
    if storage is not None and single and algorithm == "tpe":
        options = {"storage": storage, "study_name": "optuna"}
    return OptunaSearch(
        space=TpeSpace(space, seed),
        metric=metrics[0] if single else metrics,
        mode=modes[0] if single else modes,
        sampler=sampler,
        **options,
    )


def tpe_searcher(
    space: Space,
    seed: int,
    metric: str,
    mode: str,
    n_startup_trials: int | None = None,
    storage: Any = None,
) -> Searcher:
    """Optuna's TPE for one objective (see ``optuna_searcher``)."""
    return optuna_searcher(space, seed, [(metric, mode)], "tpe", n_startup_trials, None, storage)
