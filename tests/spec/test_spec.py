"""Sweep specs: every mistake is caught before Ray starts, naming the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from caviar.errors import SpecError
from caviar.spec import load_spec, parse_spec
from tests.conftest import small_spec


def test_demo_spec_parses() -> None:
    spec = load_spec(Path(__file__).parents[2] / "examples" / "demo.yaml")
    assert spec.search.num_samples >= 32
    assert spec.scheduler.name == "asha"
    assert spec.max_iterations == 12


def test_overrides_set_nested_keys(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small_spec(tmp_path)))
    spec = load_spec(path, ["search.num_samples=7", "name=other"])
    assert spec.search.num_samples == 7 and spec.name == "other"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"spce": {}}, r"^spce: unknown key \(did you mean 'space'\?\)"),
        ({"space": {"lr": "loguniform(0, 1)"}}, r"^space\.lr: loguniform: low must be > 0, got 0"),
        (
            {"space": {"lrr": "loguniform(1e-4, 1)"}},
            r"^space\.lrr: not a knob of the mlp trainable \(did you mean 'lr'\?\)",
        ),
        ({"space": {}}, r"^space: needs at least one parameter"),
        (
            {"space": {"optimizer": "choice('sgd', 'lion')"}},
            r"^space\.optimizer: unknown value 'lion'",
        ),
        ({"mode": "minimize"}, r"^mode: must be 'min' or 'max'"),
        ({"metric": "val_acc"}, r"^metric: the mlp trainable does not report 'val_acc'"),
        ({"name": "a b"}, r"^name: use letters"),
        ({"name": None}, r"^name: required key is missing"),
        ({"search": {"algorithm": "bayes"}}, r"^search\.algorithm: must be one of"),
        ({"search": {"num_samples": 0}}, r"^search\.num_samples: must be >= 1, got 0"),
        (
            {"search": {"num_samples": "ten"}},
            r"^search\.num_samples: must be an integer, got 'ten'",
        ),
        ({"search": {"samples": 3}}, r"^search\.samples: unknown key"),
        ({"scheduler": {"name": "asha", "grace": 1}}, r"^scheduler\.grace: unknown key"),
        ({"scheduler": {"name": "ashb"}}, r"^scheduler\.name: must be one of"),
        (
            {"scheduler": {"name": "asha", "max_t": 4, "grace_period": 9}},
            r"^scheduler\.grace_period: must be <= max_t",
        ),
        (
            {"scheduler": {"name": "asha", "reduction_factor": 1}},
            r"^scheduler\.reduction_factor: must be > 1",
        ),
        ({"resources": {"cpu": -1}}, r"^resources\.cpu: must be >= 0"),
        ({"resources": {"gpu": 1.5}}, r"^resources\.gpu: above 1 must be a whole number"),
        ({"resources": {"tpu": 1}}, r"^resources\.tpu: unknown key"),
        ({"max_concurrent": 0}, r"^max_concurrent: must be >= 1"),
        ({"seed": True}, r"^seed: must be an integer, got True"),
        ({"trainable": "nomodule_xyz:train"}, r"^trainable: cannot import module 'nomodule_xyz'"),
        ({"trainable": "os:nothing_here"}, r"^trainable: module 'os' has no attribute"),
        ({"trainable": "os:sep"}, r"^trainable: 'os:sep' is not callable"),
        ({"trainable": "train"}, r"^trainable: expected 'mlp' or 'package.module:function'"),
        (
            {"data": {"synthetic": "images"}},
            r"^data\.synthetic: must be 'classification' or 'regression'",
        ),
        ({"data": {"n_samples": 5}}, r"^data\.n_samples: must be >= 10"),
        ({"data": {"rows": 5}}, r"^data\.rows: unknown key"),
        ({"data": {"path": "x.csv"}}, r"^data\.target: required with path"),
    ],
)
def test_bad_specs_name_the_key_path(tmp_path: Path, change: dict, message: str) -> None:  # type: ignore[type-arg]
    spec = small_spec(tmp_path)
    spec.update(change)
    with pytest.raises(SpecError, match=message):
        parse_spec(spec)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nspace: {lr: [\n")
    with pytest.raises(SpecError, match=r"invalid YAML at line"):
        load_spec(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"search": {"algorithm": "tpe", "rounds": 3}}, r"^search\.rounds: is an option of"),
        (
            {"search": {"algorithm": "random", "n_startup_trials": 3}},
            r"^search\.n_startup_trials: is an option of tpe, not random",
        ),
        (
            {"search": {"algorithm": "tpe", "n_startup_trials": 0}},
            r"n_startup_trials: must be >= 1",
        ),
        (
            {"search": {"algorithm": "coarse_to_fine", "num_samples": 5, "rounds": 3}},
            r"^search\.num_samples: coarse_to_fine needs at least 2 trials per round",
        ),
        (
            {"search": {"algorithm": "coarse_to_fine", "rounds": 1}},
            r"^search\.rounds: must be >= 2",
        ),
        ({"search": {"algorithm": "coarse_to_fine", "top_k": 0}}, r"^search\.top_k: must be >= 1"),
        ({"search": {"algorithm": "coarse_to_fine", "margin": 2}}, r"^search\.margin: must be in"),
        ({"scheduler": {"name": "asha", "brackets": 0}}, r"^scheduler\.brackets: must be > 0"),
        (
            {"scheduler": {"name": "hyperband", "grace_period": 1}},
            r"^scheduler\.grace_period: unknown",
        ),
        (
            {"scheduler": {"name": "median", "hard_stop": "yes"}},
            r"^scheduler\.hard_stop: must be true",
        ),
        ({"scheduler": {"name": "median", "min_time_slice": -1}}, r"min_time_slice: must be >= 0"),
        (
            {"scheduler": {"name": "pbt", "quantile_fraction": 0.7}},
            r"quantile_fraction: must be in \[0, 0\.5\]",
        ),
        (
            {"scheduler": {"name": "pbt", "resample_probability": 2}},
            r"resample_probability: must be in",
        ),
        (
            {"scheduler": {"name": "pbt", "perturbation_interval": 0}},
            r"perturbation_interval: must be > 0",
        ),
        (
            {"scheduler": {"name": "pbt", "perturbation_factors": [1.2]}},
            r"perturbation_factors: must be two",
        ),
        (
            {"scheduler": {"name": "pbt", "hyperparam_mutations": ["layers"]}},
            r"^scheduler\.hyperparam_mutations: 'layers' is not a searched parameter",
        ),
        (
            {"scheduler": {"name": "pbt"}, "search": {"algorithm": "tpe"}},
            r"^scheduler\.name: pbt explores by itself and takes no searcher",
        ),
        ({"scheduler": {"name": "pbt"}, "confirm": {"top_k": 2}}, r"^confirm: confirm re-trains"),
        (
            {
                "scheduler": {"name": "pbt"},
                "search": {"algorithm": "grid"},
                "budget": {"trials": 2},
            },
            r"^budget\.trials: pbt with a grid runs every grid point",
        ),
        ({"confirm": {"top_k": 0}}, r"^confirm\.top_k: must be >= 1"),
        ({"confirm": {"seeds": 1.5}}, r"^confirm\.seeds: must be an integer"),
        ({"confirm": {"runs": 1}}, r"^confirm\.runs: unknown key"),
        ({"budget": {"trials": 0}}, r"^budget\.trials: must be >= 1"),
        ({"budget": {"time_s": -1}}, r"^budget\.time_s: must be > 0"),
        ({"budget": {"time_s": 5}, "time_budget_s": 5}, r"^budget\.time_s: give budget\.time_s or"),
        ({"budget": {"hours": 1}}, r"^budget\.hours: unknown key"),
        ({"space": {"lr": 0.1, "round": 1}}, r"^space\.round: is a column caviar adds"),
    ],
)
def test_bad_search_scheduler_confirm_budget_name_the_key(
    tmp_path: Path,
    change: dict,  # type: ignore[type-arg]
    message: str,
) -> None:
    spec = small_spec(tmp_path)
    spec.update(change)
    with pytest.raises(SpecError, match=message):
        parse_spec(spec)


def test_search_scheduler_confirm_and_budget_options_reach_the_spec(tmp_path: Path) -> None:
    spec = parse_spec(
        small_spec(
            tmp_path,
            search={"algorithm": "coarse_to_fine", "num_samples": 12, "rounds": 4, "top_k": 2},
            scheduler={"name": "median"},
            confirm={"top_k": 3, "seeds": 2},
            budget={"trials": 20, "time_s": 60},
        )
    )
    assert (spec.search.rounds, spec.search.top_k) == (4, 2)
    assert spec.scheduler.options == {"grace_period": 1, "min_samples_required": 3}
    assert (spec.confirm.top_k, spec.confirm.seeds) == (3, 2)  # type: ignore[union-attr]
    assert spec.max_trials == 20 and spec.time_budget_s == 60.0
    pbt = parse_spec(small_spec(tmp_path, scheduler={"name": "pbt", "perturbation_interval": 2}))
    assert pbt.scheduler.options["hyperparam_mutations"] == ("lr",)  # the searched floats
    tpe = parse_spec(small_spec(tmp_path, search={"algorithm": "tpe", "n_startup_trials": 4}))
    assert tpe.search.n_startup_trials == 4
    assert parse_spec(small_spec(tmp_path, time_budget_s=30)).time_budget_s == 30.0
