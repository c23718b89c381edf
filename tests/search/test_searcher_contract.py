"""The contract every search algorithm keeps (the model: Optuna's ``parametrize_sampler`` suite).

Each algorithm is built as a sweep builds it (``caviar.tune.build.build_searcher``) and must:

* give the same configs for the same seed (and other configs for another seed);
* round-trip its state: saved after some trials and restored into a fresh searcher, it goes on
  with the configs the uninterrupted one suggests;
* finish after its total, as Tune's search generator runs it;
* leave a conditional parameter out of every config whose condition is false.

No Ray is started: Tune's searchers and search generator run in this process.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ray.tune.experiment import Experiment
from ray.tune.search import Searcher

from caviar.search.streams import SEED_KEY
from caviar.search_spaces import Space
from caviar.spec.model import search_spec
from caviar.tune.build import build_searcher, search_algorithm

SPACE = Space.from_dict(
    {
        "optimizer": 'choice("sgd", "adam")',
        "momentum": {"sample": "reverse_loguniform(0.8, 0.99)", "when": {"optimizer": "sgd"}},
        "lr": "loguniform(1e-4, 1)",
        "units": "pow2(8, 64)",
        "epochs": 3,
    }
)
GRID_SPACE = Space.from_dict({**SPACE.to_dict(), "layers": "grid(1, 2)"})
TOTAL = 8
# name -> (search options, space): every algorithm a spec can name.
ALGORITHMS: dict[str, tuple[dict[str, Any], Space]] = {
    "random": ({}, SPACE),
    "grid": ({"num_samples": TOTAL // 2}, GRID_SPACE),
    "coarse_to_fine": ({"rounds": 2, "top_k": 2}, SPACE),
    "tpe": ({"n_startup_trials": 3}, SPACE),
    "nsga2": ({"population_size": 4}, SPACE),
}


def parametrize_searcher(test: Callable[..., None]) -> Callable[..., None]:
    return pytest.mark.parametrize("algorithm", list(ALGORITHMS))(test)


def make(algorithm: str, seed: int = 0) -> Searcher:
    options, space = ALGORITHMS[algorithm]
    search = search_spec(algorithm, **{"num_samples": TOTAL, **options})
    return build_searcher(search, space, seed, [("loss", "min")], TOTAL)


def loss(config: dict[str, Any]) -> float:
    """A deterministic result: the searchers that learn see the same values in every run."""
    return (math.log10(config["lr"]) + 2) ** 2 + 0.01 * math.log2(config["units"])


def drive(searcher: Searcher, first: int, last: int) -> list[dict[str, Any]]:
    """Suggest trials ``first`` .. ``last - 1``, each finished at once with its loss."""
    configs = []
    for index in range(first, last):
        trial_id = f"t{index}"
        config = searcher.suggest(trial_id)
        assert isinstance(config, dict), f"{trial_id}: {config!r}"
        configs.append(config)
        result = {"loss": loss(config), "training_iteration": 1}
        searcher.on_trial_result(trial_id, result)
        searcher.on_trial_complete(trial_id, result)
    return configs


@parametrize_searcher
def test_the_same_seed_gives_the_same_configs(algorithm: str) -> None:
    first, again = drive(make(algorithm), 0, TOTAL), drive(make(algorithm), 0, TOTAL)
    assert first == again
    other = drive(make(algorithm, seed=1), 0, TOTAL)
    assert [c[SEED_KEY] for c in other] != [c[SEED_KEY] for c in first]
    assert [c["lr"] for c in other] != [c["lr"] for c in first]


@parametrize_searcher
def test_state_round_trips_through_save_and_restore(algorithm: str, tmp_path: Path) -> None:
    uninterrupted = drive(make(algorithm), 0, TOTAL)
    interrupted = make(algorithm)
    drive(interrupted, 0, TOTAL // 2)
    interrupted.save(str(tmp_path / "state"))
    restored = make(algorithm)
    restored.restore(str(tmp_path / "state"))
    assert drive(restored, TOTAL // 2, TOTAL) == uninterrupted[TOTAL // 2 :]


@parametrize_searcher
def test_the_search_finishes_after_its_total(algorithm: str, tmp_path: Path) -> None:
    generator = search_algorithm(make(algorithm), max_concurrent=None)
    experiment = Experiment(
        "contract", run=lambda config: None, num_samples=TOTAL, storage_path=str(tmp_path)
    )
    generator.add_configurations([experiment])
    made = 0
    while (trial := generator.next_trial()) is not None:
        made += 1
        result = {"loss": loss(trial.config), "training_iteration": 1}
        generator.on_trial_complete(trial.trial_id, result)
        assert made <= TOTAL
    assert made == TOTAL and generator.is_finished()


@parametrize_searcher
def test_conditional_keys_are_absent_when_their_condition_is_false(algorithm: str) -> None:
    configs = drive(make(algorithm), 0, TOTAL)
    assert {c["optimizer"] for c in configs} == {"sgd", "adam"} or algorithm in ("tpe", "nsga2")
    for config in configs:
        assert ("momentum" in config) == (config["optimizer"] == "sgd"), config
        params = {k: v for k, v in config.items() if k in ALGORITHMS[algorithm][1]}
        ALGORITHMS[algorithm][1].validate(params)
