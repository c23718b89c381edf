"""The recommended mode (no ``search:``, no ``scheduler:``) and sampling until the time budget ends.

Both are decided when the spec is parsed; sweep.yaml (the resolved spec) shows the mode that
runs with every default filled in, and parses back to itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from caviar.spec import parse_spec
from caviar.spec.recommended import RECOMMENDED, recommended_sections
from caviar.tune.resolved import spec_yaml
from tests.conftest import small_spec


def _bare(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """small_spec without search: and scheduler:."""
    spec = small_spec(tmp_path, **overrides)
    spec.pop("search")
    spec.pop("scheduler")
    return spec


def _resolved(raw: dict[str, Any]) -> dict[str, Any]:
    resolved = yaml.safe_load(spec_yaml(parse_spec(raw)))
    assert yaml.safe_load(spec_yaml(parse_spec(resolved))) == resolved  # a fixed point
    return dict(resolved)


def test_no_search_and_no_scheduler_resolve_to_the_recommended_mode(tmp_path: Path) -> None:
    resolved = _resolved(_bare(tmp_path, space={**small_spec(tmp_path)["space"], "epochs": 24}))
    assert resolved["search"] == {"algorithm": "tpe", "num_samples": 16, "n_startup_trials": 10}
    scheduler = resolved["scheduler"]
    assert scheduler["name"] == "asha"
    # max_t from the trainable's epochs; a tenth of it is the first rung; Ray's other defaults.
    assert (scheduler["max_t"], scheduler["grace_period"], scheduler["reduction_factor"]) == (
        24,
        2,
        3,
    )
    assert scheduler["brackets"] == 1 and scheduler["stop_last_trials"] is True
    assert RECOMMENDED.label == "TPE + ASHA"


@pytest.mark.parametrize(
    ("epochs", "max_t", "grace_period"),
    [(4, 4, 1), (12, 12, 1), (20, 20, 2), ("integer(5, 40)", 40, 4), (None, 100, 10)],
)
def test_ashas_rungs_follow_the_epochs(
    tmp_path: Path, epochs: Any, max_t: int, grace_period: int
) -> None:
    space = {"lr": "loguniform(1e-3, 1e-1)", "epochs": epochs}
    raw = _bare(tmp_path, trainable="tests.results.killable:train", data=None, metric="loss")
    raw["space"] = {k: v for k, v in space.items() if v is not None}
    scheduler = parse_spec(raw).scheduler
    assert scheduler.options["max_t"] == max_t
    assert scheduler.options["grace_period"] == grace_period
    assert recommended_sections(None if epochs is None else max_t)["scheduler"]["max_t"] == max_t


@pytest.mark.parametrize(
    ("given", "algorithm", "scheduler"),
    [
        ({"search": {"algorithm": "tpe", "num_samples": 4}}, "tpe", "fifo"),
        ({"search": {"algorithm": "random", "num_samples": 4}}, "random", "fifo"),
        ({"scheduler": "asha"}, "random", "asha"),
        ({"scheduler": {"name": "hyperband"}}, "random", "hyperband"),
    ],
)
def test_a_spec_naming_either_keeps_todays_defaults(
    tmp_path: Path, given: dict[str, Any], algorithm: str, scheduler: str
) -> None:
    resolved = _resolved({**_bare(tmp_path), **given})
    assert resolved["search"]["algorithm"] == algorithm
    assert resolved["scheduler"]["name"] == scheduler
    if "scheduler" in given:
        assert resolved["search"]["num_samples"] == 16
    if scheduler == "asha":
        assert resolved["scheduler"]["grace_period"] == 1  # Ray's own, as before
        assert resolved["scheduler"]["reduction_factor"] == 4


def test_fused_trials_take_the_recommended_scheduler_with_random_search(tmp_path: Path) -> None:
    spec = parse_spec(_bare(tmp_path, fuse="auto"))
    assert (spec.search.algorithm, spec.scheduler.name) == ("random", "asha")


def test_a_time_budget_without_a_trial_count_samples_until_it_ends(tmp_path: Path) -> None:
    resolved = _resolved(_bare(tmp_path, budget={"time_s": 30}))
    assert resolved["search"]["num_samples"] is None
    assert resolved["budget"] == {"trials": None, "time_s": 30.0}
    alias = parse_spec(small_spec(tmp_path, search={"algorithm": "random"}, time_budget_s=5))
    assert alias.search.num_samples is None


@pytest.mark.parametrize(
    "keys",
    [
        {"budget": {"time_s": 30, "trials": 5}},
        {"budget": {"time_s": 30}, "search": {"algorithm": "random", "num_samples": 8}},
        {"budget": {"time_s": 30}, "search": {"algorithm": "grid"}},
        {"budget": {"time_s": 30}, "search": {"algorithm": "coarse_to_fine"}},
        {"budget": {"time_s": 30}, "confirm": {"top_k": 1, "seeds": 1}},
        {"budget": {"time_s": 30}, "fuse": "auto"},
        {"budget": {"time_s": 30}, "scheduler": "pbt", "search": {"algorithm": "random"}},
        {},
    ],
)
def test_a_trial_count_or_a_planned_search_keeps_num_samples(
    tmp_path: Path, keys: dict[str, Any]
) -> None:
    raw = {**_bare(tmp_path), **keys}
    if keys.get("scheduler") == "pbt":
        raw["scheduler"] = {"name": "pbt", "hyperparam_mutations": ["lr"]}
    spec = parse_spec(raw)
    given = keys.get("search", {}).get("num_samples")
    assert spec.search.num_samples == (given or 16)
