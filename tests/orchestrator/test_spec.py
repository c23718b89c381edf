"""Sweep specs: every mistake is caught before Ray starts, naming the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from caviar.errors import SpecError
from caviar.orchestrator.spec import load_spec, parse_spec
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
