"""The typed spec: one variant per search algorithm and scheduler, options declared once."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from caviar.errors import SpecError
from caviar.spec import (
    AshaSpec,
    CoarseToFineSearch,
    FifoSpec,
    MedianSpec,
    PbtSpec,
    RandomSearch,
    TpeSearch,
    parse_spec,
    scheduler_spec,
    search_spec,
)
from caviar.spec.fields import read_options
from caviar.spec.model import SCHEDULERS, SEARCHES, caviar_defaults, option_kinds
from tests.conftest import small_spec


def test_each_scheduler_parses_into_its_own_typed_variant(tmp_path: Path) -> None:
    asha = parse_spec(small_spec(tmp_path, scheduler={"name": "asha", "grace_period": 2}))
    assert isinstance(asha.scheduler, AshaSpec)
    assert asha.scheduler.grace_period == 2 and asha.scheduler.reduction_factor is None
    # max_t defaults to the space's epochs; options left out are not passed (Ray's defaults)
    assert asha.scheduler.options == {"max_t": asha.max_iterations, "grace_period": 2}
    median = parse_spec(small_spec(tmp_path, scheduler="median")).scheduler
    assert median == MedianSpec(grace_period=1, min_samples_required=3)
    pbt = parse_spec(
        small_spec(tmp_path, scheduler={"name": "pbt", "perturbation_factors": [2, 0.5]})
    )
    assert isinstance(pbt.scheduler, PbtSpec)
    assert pbt.scheduler.perturbation_factors == (2, 0.5)
    assert pbt.scheduler.hyperparam_mutations == ("lr",)
    assert isinstance(parse_spec(small_spec(tmp_path)).scheduler, FifoSpec)


def test_each_search_algorithm_parses_into_its_own_typed_variant(tmp_path: Path) -> None:
    c2f = parse_spec(
        small_spec(tmp_path, search={"algorithm": "coarse_to_fine", "num_samples": 8, "rounds": 2})
    ).search
    assert c2f == CoarseToFineSearch(num_samples=8, rounds=2)
    assert c2f.options == {"rounds": 2, "top_k": 5, "margin": 0.1}
    tpe = parse_spec(small_spec(tmp_path, search={"algorithm": "tpe"})).search
    assert isinstance(tpe, TpeSearch) and tpe.n_startup_trials is None
    plain = parse_spec(small_spec(tmp_path)).search
    assert isinstance(plain, RandomSearch) and plain.options == {}
    # what a builder reads of any algorithm: the warm-start zoom and None for others' options
    assert (plain.top_k, plain.margin, plain.population_size) == (5, 0.1, None)


def test_options_are_declared_once_with_their_types_and_caviar_defaults() -> None:
    assert set(SEARCHES) == {"random", "grid", "coarse_to_fine", "tpe", "nsga2"}
    assert set(SCHEDULERS) == {"fifo", "asha", "hyperband", "median", "pbt"}
    assert option_kinds(AshaSpec)["max_t"] is int
    assert caviar_defaults(MedianSpec) == {"grace_period": 1, "min_samples_required": 3}
    assert caviar_defaults(PbtSpec) == {"perturbation_interval": 2}
    assert caviar_defaults(AshaSpec) == {}
    for cls in [*SEARCHES.values(), *SCHEDULERS.values()]:
        assert dataclasses.is_dataclass(cls)
        with pytest.raises(dataclasses.FrozenInstanceError):
            cls().num_samples = 3  # type: ignore[misc, attr-defined]


@pytest.mark.parametrize(
    ("raw", "path", "message"),
    [
        ({"grace_period": "2"}, "scheduler.grace_period", "must be an integer, got '2'"),
        ({"grace_period": True}, "scheduler.grace_period", "must be an integer, got True"),
        ({"grace_period": 0}, "scheduler.grace_period", "must be > 0, got 0"),
        ({"reduction_factor": 1}, "scheduler.reduction_factor", "must be > 1, got 1"),
        ({"max_t": 3, "brackets": -1}, "scheduler.brackets", "must be > 0, got -1"),
    ],
)
def test_read_options_checks_types_then_ranges_naming_the_key_path(
    raw: dict[str, object], path: str, message: str
) -> None:
    with pytest.raises(SpecError) as caught:
        read_options(AshaSpec, raw, "scheduler.")
    assert (caught.value.path, caught.value.message) == (path, message)


def test_scheduler_spec_and_search_spec_build_a_variant_from_checked_options() -> None:
    pbt = scheduler_spec(
        "pbt", {"hyperparam_mutations": ["lr"], "perturbation_factors": [1.5, 0.5]}
    )
    assert pbt == PbtSpec(hyperparam_mutations=("lr",), perturbation_factors=(1.5, 0.5))
    assert scheduler_spec("asha", {"max_t": 9}).options == {"max_t": 9}
    assert scheduler_spec().name == "fifo"
    tpe = search_spec("tpe", 8, n_startup_trials=3)
    assert tpe == TpeSearch(num_samples=8, n_startup_trials=3) and tpe.algorithm == "tpe"
    assert search_spec().algorithm == "random"


def test_no_module_of_the_spec_package_imports_ray() -> None:
    """Ray's defaults come from caviar.tune.resolved; the spec itself is plain Python.

    (Modules the spec imports are held to their own layer by the import-linter contracts.)
    """
    import caviar.spec

    folder = Path(caviar.spec.__file__).parent
    found = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            found += [f"{path.name}: {n}" for n in names if n == "ray" or n.startswith("ray.")]
    assert found == []
    assert len(list(folder.glob("*.py"))) >= 8
