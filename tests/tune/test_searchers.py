"""The searchers' logic, driven by hand as Tune would drive it: no Ray processes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from ray.tune.search import Searcher

from caviar.objective import Objective
from caviar.search.streams import confirmations, round_sizes
from caviar.search_spaces import Space, zoom
from caviar.tune.optuna_search import TpeSpace
from caviar.tune.searchers import CoarseToFineSearcher, ConfirmingSearcher, SpaceSearcher

SPACE = Space.from_dict({"lr": "loguniform(1e-5, 1)", "units": "integer(8, 64)", "epochs": 3})


def loss(config: dict[str, Any]) -> float:
    return (math.log10(config["lr"]) + 2.5) ** 2


def drain(searcher: Searcher, prefix: str, n: int) -> list[tuple[str, dict[str, Any] | None]]:
    return [(f"{prefix}{i}", searcher.suggest(f"{prefix}{i}")) for i in range(n)]


def test_random_and_grid_repeat_their_configs_for_the_same_seed() -> None:
    space = Space.from_dict({"lr": "loguniform(1e-4, 1)", "opt": 'grid("sgd", "adam")'})
    runs = []
    for _ in range(2):
        searcher = SpaceSearcher(space, seed=7, total=6, grid=True, repeats=3)
        runs.append([searcher.suggest(str(i)) for i in range(6)])
    assert runs[0] == runs[1]
    assert [c["opt"] for c in runs[0]] == ["sgd"] * 3 + ["adam"] * 3  # type: ignore[index]
    assert len({c["lr"] for c in runs[0]}) == 6  # type: ignore[index]
    other = SpaceSearcher(space, seed=8, total=6, grid=True, repeats=3)
    assert [other.suggest(str(i)) for i in range(6)] != runs[0]


def test_round_sizes_split_evenly_earlier_rounds_first() -> None:
    assert round_sizes(12, 3) == [4, 4, 4]
    assert round_sizes(11, 3) == [4, 4, 3]
    with pytest.raises(ValueError, match="rounds"):
        round_sizes(2, 3)


def test_coarse_to_fine_waits_for_each_round_then_zooms_around_the_best(tmp_path: Path) -> None:
    searcher = CoarseToFineSearcher(
        SPACE, seed=0, total=12, rounds=3, top_k=2, margin=0.05, metric="loss", mode="min"
    )
    first = drain(searcher, "a", 4)
    assert all(c is not None and c["round"] == 1 for _, c in first)
    assert searcher.suggest("wait") is None  # round 1 still running
    for trial_id, config in first[:3]:
        assert config is not None
        searcher.on_trial_complete(trial_id, {"loss": loss(config)})
    assert searcher.suggest("wait") is None
    trial_id, config = first[3]
    assert config is not None
    searcher.on_trial_complete(trial_id, {"loss": loss(config)})

    # Saved mid-run and restored into a fresh searcher, it continues the same search.
    path = str(tmp_path / "state.json")
    searcher.save(path)
    again = CoarseToFineSearcher(
        SPACE, seed=0, total=12, rounds=3, top_k=2, margin=0.05, metric="loss", mode="min"
    )
    again.restore(path)
    second = drain(searcher, "b", 4)
    assert drain(again, "b", 4) == second

    configs = [c for _, c in first if c is not None]
    expected = zoom(SPACE, [{**c, "loss": loss(c)} for c in configs], "loss", "min", 2, 0.05)
    best = sorted(configs, key=loss)[:2]
    for _, config in second:
        assert config is not None and config["round"] == 2
        assert expected["lr"].contains(config["lr"])  # type: ignore[attr-defined]
    low, high = sorted(math.log10(c["lr"]) for c in best)
    span = math.log10(expected["lr"].high) - math.log10(expected["lr"].low)  # type: ignore[attr-defined]
    assert span <= high - low + 2 * 0.05 * 5 + 1e-9  # the top trials' range plus the margins
    for trial_id, config in second:
        assert config is not None
        searcher.on_trial_complete(trial_id, {"loss": loss(config)})
    third = drain(searcher, "c", 5)
    assert [c["round"] for _, c in third[:4]] == [3, 3, 3, 3]  # type: ignore[index]
    assert third[4][1] == Searcher.FINISHED


def test_confirming_searcher_retrains_the_best_with_fresh_seeds() -> None:
    inner = SpaceSearcher(SPACE, seed=0, total=4)
    searcher = ConfirmingSearcher(inner, top_k=2, seeds=3, seed=0, metric="loss", mode="min")
    search = drain(searcher, "s", 4)
    assert searcher.suggest("x") is None  # waits for the search to end
    for trial_id, config in search:
        assert config is not None
        searcher.on_trial_result(trial_id, {"loss": loss(config) + 1})
        searcher.on_trial_complete(trial_id, {"loss": loss(config)})
    confirm = drain(searcher, "c", 7)
    assert confirm[6][1] == Searcher.FINISHED
    runs = [c for _, c in confirm[:6] if c is not None]
    ranked = sorted(search, key=lambda item: loss(item[1]))  # type: ignore[arg-type]
    assert [c["confirm_of"] for c in runs] == [ranked[0][0]] * 3 + [ranked[1][0]] * 3
    for run in runs:
        original = dict(search)[run["confirm_of"]]
        assert original is not None
        assert run["lr"] == original["lr"] and run["seed"] != original["seed"]
    assert len({run["seed"] for run in runs}) == 6
    state = searcher.get_state()
    assert "searcher" not in state and state["queue"] == []


def test_confirmations_skip_trials_without_a_value() -> None:
    configs = {"a": {"lr": 0.1, "seed": 1}, "b": {"lr": 0.2, "seed": 2}}
    out = confirmations(configs, {"b": 1.0}, Objective("m", "max"), top_k=5, seeds=2, seed=0)
    assert [c["confirm_of"] for c in out] == ["b", "b"]


def test_tpe_define_by_run_keeps_conditionals_absent_and_reverse_log_in_range() -> None:
    space = Space.from_dict(
        {
            "optimizer": 'choice("sgd", "adam")',
            "momentum": {"sample": "reverse_loguniform(0.9, 0.999)", "when": {"optimizer": "sgd"}},
            "lr": "loguniform(1e-4, 1)",
            "epochs": 2,
        }
    )
    suggest = TpeSpace(space, seed=0)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        config = suggest(trial)
        assert ("momentum" in config) == (config["optimizer"] == "sgd")
        if "momentum" in config:
            assert 0.9 <= config["momentum"] <= 0.999
            # Optuna works on 1 - momentum, on a log scale: the scale is kept.
            assert trial.params["momentum"] == pytest.approx(1 - config["momentum"])
        assert config["epochs"] == 2 and isinstance(config["seed"], int)
        study.tell(trial, float(np.log10(config["lr"]) ** 2))
