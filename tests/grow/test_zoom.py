"""``caviar zoom``: the next spec's ranges contain every top-K trial, on each parameter's own scale,
categories no top trial used are dropped, every parameter is commented, and the spec runs as written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import caviar
from caviar.errors import SpecError
from caviar.search.next_spec import spec_text, write_zoom, zoom_spec
from caviar.search_spaces import Space, loguniform
from caviar.spec.load import load_spec
from caviar.spec.parse import parse_spec
from caviar.tune.run import run_sweep
from tests.conftest import run_cli, small_spec

pytestmark = pytest.mark.xdist_group("ray")

SPACE = {
    "lr": "loguniform(1e-3, 1e-1)",
    "optimizer": 'choice("sgd", "adam", "adamw")',
    "momentum": {"sample": "reverse_loguniform(0.5, 0.99)", "when": {"optimizer": "sgd"}},
    "hidden_units": "integer(8, 32)",
    "layers": 1,
    "batch_size": 64,
    "epochs": 2,
}


def test_zoomed_spec_contains_the_top_trials_and_runs(ray_local: None, tmp_path: Path) -> None:
    spec = small_spec(tmp_path, space=SPACE, search={"algorithm": "random", "num_samples": 6})
    run_sweep(parse_spec(spec), False)
    sweep = tmp_path / "results" / "small"
    zoomed, path = write_zoom(str(sweep), str(tmp_path / "next.yaml"), top_k=3, margin=0.05)

    trials = caviar.read_trials(str(sweep)).sort_values("best_val_loss").head(3)
    space = Space.from_dict(zoomed.raw["space"])
    assert repr(space["lr"]).startswith("loguniform(")  # the scale is kept
    for _, row in trials.iterrows():
        for name in ("lr", "hidden_units", "optimizer"):
            assert space[name].contains(
                row[name].item() if hasattr(row[name], "item") else row[name]
            )
    used = set(trials["optimizer"])
    assert set(space["optimizer"].values) == used  # type: ignore[attr-defined]
    text = Path(path).read_text()
    for name in ("lr", "hidden_units", "optimizer"):
        assert f"  # {name}: was " in text and "3 of 3 top trials inside" in zoomed.comments[name]
    history = yaml.safe_load((sweep / "sweep.yaml").read_text())["history"]
    assert history[-1]["command"] == "zoom" and history[-1]["output"] == path

    # runs as written (a smaller budget through --set, as a person would try it first)
    next_spec = load_spec(path, ["search.num_samples=2"])
    assert next_spec.name == "small-zoom"
    outcome = run_sweep(next_spec, False)
    assert outcome.trials == 2 and not outcome.errors
    ran = caviar.read_trials(str(tmp_path / "results" / "small-zoom"))
    assert all(space["lr"].contains(v) for v in ran["lr"])


def test_zoom_of_a_sweep_without_finished_trials(tmp_path: Path) -> None:
    sweep = tmp_path / "results" / "small"
    sweep.mkdir(parents=True)
    (sweep / "sweep.yaml").write_text(yaml.safe_dump(small_spec(tmp_path)))
    with pytest.raises(SpecError, match="no finished trial"):
        zoom_spec(str(sweep))
    with pytest.raises(SpecError, match="no caviar sweep"):
        zoom_spec(str(tmp_path))


def test_spec_text_comments_each_parameter() -> None:
    raw = {"name": "n", "space": {"lr": "loguniform(0.001, 0.1)", "epochs": 3}, "seed": 0}
    text = spec_text(raw, {"lr": "was loguniform(0.0001, 1), now loguniform(0.001, 0.1)"})
    assert text.splitlines()[1:4] == [
        "space:",
        "  # lr: was loguniform(0.0001, 1), now loguniform(0.001, 0.1)",
        "  lr: loguniform(0.001, 0.1)",
    ]
    assert yaml.safe_load(text)["space"]["lr"] == repr(loguniform(0.001, 0.1))


def test_lr_find_writes_its_range_in_zoom_form(tmp_path: Path) -> None:
    spec = small_spec(tmp_path, space={"lr": "loguniform(1e-4, 1)", "hidden_units": 16})
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    done = run_cli("lr-find", str(path), "--steps", "40", "-o", str(tmp_path / "lr.png"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    comment = next(
        line for line in lines if line.startswith("  # lr: was loguniform(0.0001, 1.0), now ")
    )
    assert "lr-find's range around its suggestion" in comment
    value = lines[lines.index(comment) + 1]
    assert yaml.safe_load(value)["lr"].startswith("loguniform(")
