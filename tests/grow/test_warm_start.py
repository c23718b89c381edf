"""``--warm-start``: TPE's study holds exactly the old finished trials that fit the new space,
coarse-to-fine's first round is zoomed around the old best, and the summary says what was carried."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import caviar
from caviar.errors import SpecError
from caviar.search.warm_start import load_warm_start, optuna_storage, zoomed_first_round
from caviar.spec.parse import parse_spec
from caviar.tune.run import run_sweep
from tests.conftest import run_cli
from tests.results.killable import killable_spec

pytestmark = pytest.mark.xdist_group("ray")


def old_sweep(tmp_path: Path) -> Path:
    spec = killable_spec(
        "old", tmp_path / "results", 2, 0.0, search={"algorithm": "random", "num_samples": 8}
    )
    spec["space"]["y"] = "uniform(0, 1)"  # searched only in the old sweep
    run_sweep(parse_spec(spec), False)
    return tmp_path / "results" / "old"


def new_spec(tmp_path: Path, algorithm: str) -> dict[str, object]:
    search = {"algorithm": algorithm, "num_samples": 3}
    if algorithm == "coarse_to_fine":
        search = {"algorithm": algorithm, "num_samples": 4, "rounds": 2}
    spec = killable_spec("new", tmp_path / "results", 2, 0.0, search=search)
    spec["space"]["x"] = "uniform(0.3, 1)"  # narrower: old x below 0.3 is dropped
    spec["space"]["z"] = "integer(1, 4)"  # new here
    return spec


def test_warm_start_carries_what_it_says(ray_local: None, tmp_path: Path) -> None:
    old = old_sweep(tmp_path)
    old_x = caviar.read_trials(str(old))["x"]
    spec = parse_spec(new_spec(tmp_path, "tpe"))
    warm = load_warm_start(str(old), spec)
    below = int((old_x < 0.3).sum())
    assert warm.carried == ["x"] and len(warm.trials) == 8
    assert warm.not_carried == {"z": "not searched in the old sweep", "y": "not in the new space"}
    assert warm.dropped == ({"x": below} if below else {})
    assert f"{8} finished trials, carried x" in warm.summary and "\n" not in warm.summary
    storage = optuna_storage(warm, spec.space, spec.mode, "optuna")
    import optuna

    told = optuna.load_study(study_name="optuna", storage=storage).trials
    assert sorted(t.params["x"] for t in told) == pytest.approx(sorted(old_x[old_x >= 0.3]))
    assert all(t.value == pytest.approx(t.params["x"] * 2) for t in told)  # score = x * epoch
    outcome = run_sweep(spec, False, warm=warm)  # TPE goes on from the 8 - below trials it was told
    assert outcome.trials == 3 and not outcome.errors


@pytest.mark.slow  # a fresh process with its own Ray
def test_warm_start_command(ray_local: None, tmp_path: Path) -> None:
    """The whole command: the new sweep runs, records the warm start, prints the summary."""
    old = old_sweep(tmp_path)
    path = tmp_path / "new.yaml"
    path.write_text(yaml.safe_dump(new_spec(tmp_path, "tpe")))
    done = run_cli("run", str(path), "--warm-start", str(old), "--num-cpus", "2")
    assert done.returncode == 0, done.stderr
    assert "warm start from" in done.stdout
    history = yaml.safe_load((tmp_path / "results" / "new" / "sweep.yaml").read_text())["history"]
    assert history[0]["command"] == "warm_start" and history[0]["carried"] == ["x"]
    assert len(caviar.read_trials(str(tmp_path / "results" / "new"))) == 3


@pytest.mark.slow  # two sweeps; the TPE test is make test's slice
def test_coarse_to_fine_first_round_is_zoomed_on_the_old_best(
    ray_local: None, tmp_path: Path
) -> None:
    old = old_sweep(tmp_path)
    spec = parse_spec(new_spec(tmp_path, "coarse_to_fine"))
    warm = load_warm_start(str(old), spec)
    first = zoomed_first_round(warm, spec.space, spec.mode, spec.search.top_k, spec.search.margin)
    best = sorted((t.best, t.params["x"]) for t in warm.trials if "x" in t.params)[-5:]
    assert first["x"].contains(best[0][1]) and first["x"].contains(best[-1][1])  # type: ignore[attr-defined]
    outcome = run_sweep(spec, False, warm=warm)
    assert outcome.trials == 4
    new = caviar.read_trials(str(tmp_path / "results" / "new"))
    round_one = new[new["round"] == 1]
    assert len(round_one) and all(first["x"].contains(v) for v in round_one["x"])


def test_warm_start_refusals(tmp_path: Path) -> None:
    old = tmp_path / "results" / "old"
    old.mkdir(parents=True)
    (old / "sweep.yaml").write_text(
        yaml.safe_dump(killable_spec("old", tmp_path / "results", 2, 0.0))
    )
    spec = new_spec(tmp_path, "tpe")
    spec["space"] = {"w": "uniform(0, 1)", "epochs": 2}
    with pytest.raises(SpecError, match="shares no searched parameter"):
        load_warm_start(str(old), parse_spec(spec))
    with pytest.raises(SpecError, match="learns nothing"):
        load_warm_start(str(old), parse_spec(new_spec(tmp_path, "random")))
    with pytest.raises(SpecError, match="no caviar sweep"):
        load_warm_start(str(tmp_path), parse_spec(new_spec(tmp_path, "tpe")))
