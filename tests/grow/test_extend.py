"""``caviar extend``: exactly N more trials, no (trial_id, iteration) twice, the search carried on.

Random search: the extended sweep's configs are the configs of one sweep planned N larger (its
seeded stream continues). TPE and coarse-to-fine: every earlier trial stays, and the new trials come
from the restored search (coarse-to-fine's in rounds of their own, zoomed inside the old space).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import caviar
from caviar.errors import SpecError
from caviar.search.grow import check_extend
from caviar.search_spaces import Space
from caviar.spec.parse import parse_spec
from caviar.tune.grow import extend
from caviar.tune.run import run_sweep
from caviar.tune.searchers import SpaceSearcher
from tests.results.killable import killable_spec

pytestmark = pytest.mark.xdist_group("ray")

EPOCHS = 3


def keys_once(sweep: Path) -> None:
    curves = caviar.read_curves(str(sweep))
    keys = list(zip(curves["trial_id"], curves["iteration"], strict=True))
    assert len(keys) == len(set(keys))
    trials = caviar.read_trials(str(sweep))
    for trial_id, group in curves.groupby("trial_id"):
        assert sorted(group["iteration"]) == list(range(1, EPOCHS + 1)), trial_id
    assert set(curves["trial_id"]) == set(trials["trial_id"])


def spec_of(tmp_path: Path, search: dict[str, Any]) -> dict[str, Any]:
    return killable_spec(
        "grown", tmp_path / "results", EPOCHS, 0.0, search=search, max_concurrent=2
    )


@pytest.mark.parametrize(
    "search",
    [
        {"algorithm": "random", "num_samples": 3},
        pytest.param(
            {"algorithm": "tpe", "num_samples": 3, "n_startup_trials": 2},
            marks=pytest.mark.slow,  # 20-40 s each; random is make test's slice
        ),
        pytest.param(
            {"algorithm": "coarse_to_fine", "num_samples": 4, "rounds": 2, "top_k": 2},
            marks=pytest.mark.slow,
        ),
    ],
    ids=["random", "tpe", "coarse_to_fine"],
)
def test_extend_adds_exactly_n_trials(
    ray_local: None, tmp_path: Path, search: dict[str, Any]
) -> None:
    spec = spec_of(tmp_path, search)
    sweep = tmp_path / "results" / "grown"
    run_sweep(parse_spec(spec), False)
    before = caviar.read_trials(str(sweep))
    old = before.set_index("trial_id")["x"].to_dict()

    outcome = extend(check_extend(str(sweep), 3), show_progress=False)

    after = caviar.read_trials(str(sweep))
    n = search["num_samples"]
    assert outcome.trials == len(after) == n + 3 and not outcome.interrupted
    assert set(before["trial_id"]) < set(after["trial_id"])
    kept = after.set_index("trial_id").loc[list(old)]
    assert kept["x"].to_dict() == old and (kept["status"] == "TERMINATED").all()
    keys_once(sweep)
    recorded = yaml.safe_load((sweep / "sweep.yaml").read_text())
    assert recorded["search"]["num_samples"] == n + 3
    assert [(e["command"], e["trials"]) for e in recorded["history"]] == [("extend", 3)]
    if search["algorithm"] == "random":  # the stream a sweep of n + 3 would have drawn
        searcher = SpaceSearcher(Space.from_dict(spec["space"]), 0, n + 3)
        expected = sorted(searcher.config_at(i)["x"] for i in range(n + 3))
        assert sorted(after["x"]) == pytest.approx(expected)
    if search["algorithm"] == "coarse_to_fine":  # a round of its own
        new = after[~after["trial_id"].isin(list(old))]
        assert sorted(new["round"]) == [3, 3, 3]  # 3 trials: one round (2 a round at least)
        second = before[before["round"] == 2]["x"]
        assert len(second) == 2


@pytest.mark.slow  # three Tune runs
def test_extend_twice_through_the_python_api(ray_local: None, tmp_path: Path) -> None:
    spec = spec_of(tmp_path, {"algorithm": "random", "num_samples": 2})
    sweep = tmp_path / "results" / "grown"
    run_sweep(parse_spec(spec), False)
    caviar.extend(str(sweep), 1)
    caviar.request_more_trials(str(sweep), 2)
    assert len(caviar.read_trials(str(sweep))) == 5
    keys_once(sweep)
    history = yaml.safe_load((sweep / "sweep.yaml").read_text())["history"]
    assert [e["num_samples"] for e in history] == [[2, 3], [3, 5]]


def test_extend_refusals(tmp_path: Path) -> None:
    sweep = tmp_path / "results" / "grown"
    sweep.mkdir(parents=True)
    spec = spec_of(tmp_path, {"algorithm": "random", "num_samples": 2})
    (sweep / "sweep.yaml").write_text(yaml.safe_dump(spec))
    with pytest.raises(SpecError, match="--trials: must be >= 1"):
        check_extend(str(sweep), 0)
    with pytest.raises(SpecError, match="no caviar sweep"):
        check_extend(str(tmp_path), 2)
    with pytest.raises(SpecError, match="no Ray Tune state"):
        check_extend(str(sweep), 2)
    grid = {
        **spec,
        "space": {**spec["space"], "x": "grid(0.1, 0.2)"},
        "search": {"algorithm": "grid", "num_samples": 1},
    }
    (sweep / "sweep.yaml").write_text(yaml.safe_dump(grid))
    with pytest.raises(SpecError, match="a grid sweep has run its grid"):
        check_extend(str(sweep), 2)


def test_the_restored_tune_config_is_where_caviar_looks(tmp_path: Path) -> None:
    """The one private Ray name growing a sweep uses (caviar/tune/compat.py)."""
    from ray import tune

    from caviar.tune.compat import restored_tune_config

    config = tune.TuneConfig(num_samples=3, time_budget_s=5.0)
    tuner = tune.Tuner(
        lambda c: None,
        tune_config=config,
        run_config=tune.RunConfig(name="t", storage_path=str(tmp_path)),
    )
    found = restored_tune_config(tuner)
    assert found is config
    restored = tune.Tuner.restore(str(tmp_path / "t"), lambda c: None)
    assert restored_tune_config(restored).time_budget_s == 5.0
