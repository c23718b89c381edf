"""A sweep killed with kill -9 and resumed decides as the same sweep run without interruption.

One trial at a time (each trial takes both CPUs of a 2-CPU Ray) and a deterministic trainable
(tests/trainables/shapes.py: loss = x + 1/epoch), so the uninterrupted sweep's early-stopping
decisions are a fixed function of the configs. The killed sweep is killed once after a seeded
number of reports and resumed: every scheduler's state was saved with Tune's snapshot and restored
(caviar/tune/resumable.py), so it must stop the same configs at the same iterations under
ASHA, HyperBand and the median rule. HyperBand resumed with Ray's own bookkeeping spins forever
(ray-project/ray#30838); here it finishes. PBT's perturbation count continues after a resume.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

import caviar
from tests.conftest import kill_when
from tests.results.test_kill_resume import start

X = "grid(0.5, 0.1, 0.9, 0.3, 0.7, 0.0, 0.8, 0.2)"
SCHEDULERS = {
    "asha": {"name": "asha", "grace_period": 1, "reduction_factor": 3, "max_t": 9},
    "hyperband": {"name": "hyperband", "reduction_factor": 3, "max_t": 9},
    "median": {"name": "median", "grace_period": 1, "min_samples_required": 2},
}


def spec(tmp_path: Path, name: str, scheduler: dict[str, Any], **extra: Any) -> Path:
    raw = {
        "name": name,
        "trainable": "tests.trainables.shapes:train",
        "metric": "loss",
        "mode": "min",
        "space": {
            "x": X,
            "epochs": 9,
            "sleep": 0.2,
            "checkpoint_every": 1,
            "log": str(tmp_path / f"{name}.truth"),
        },
        "search": {"algorithm": "grid", "num_samples": 1},
        "scheduler": scheduler,
        "resources": {"cpu": 2},  # one trial at a time on a 2-CPU Ray
        "storage": str(tmp_path / "results"),
        **extra,
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def reports(truth: Path) -> int:
    if not truth.exists():
        return 0
    return sum(1 for line in truth.read_text().split() if line.count(",") == 2)


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "caviar.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def decisions(sweep: Path) -> dict[float, int]:
    """The iteration each config stopped at (9: ran to the end), keyed by its x."""
    trials = caviar.read_trials(str(sweep))
    assert set(trials["status"]) == {"TERMINATED"}, trials[["x", "status", "error"]]
    return {round(float(r.x), 3): int(r.iterations) for r in trials.itertuples()}


def killed_once_and_resumed(
    tmp_path: Path, name: str, scheduler: dict[str, Any], seed: int
) -> Path:
    path = spec(tmp_path, name, scheduler)
    truth = tmp_path / f"{name}.truth"
    process = start(["run", str(path), "--num-cpus", "2"], dict(os.environ))
    want = random.Random(seed).randint(8, 20)
    kill_when(process, lambda: reports(truth) >= want, f"{want} reports were made")
    sweep = tmp_path / "results" / name
    resumed = cli("resume", str(sweep), timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    return sweep


@pytest.mark.slow  # two and three Ray starts per scheduler: about 1.5 min each on 2 cores
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_killed_and_resumed_stops_the_same_trials_at_the_same_iterations(
    tmp_path: Path, name: str
) -> None:
    straight = cli(
        "run", str(spec(tmp_path, f"{name}-straight", SCHEDULERS[name])), "--num-cpus", "2"
    )
    assert straight.returncode == 0, straight.stderr[-3000:]
    expected = decisions(tmp_path / "results" / f"{name}-straight")
    assert any(stopped < 9 for stopped in expected.values()), expected  # it decided something
    seed = int(os.environ.get("CAVIAR_TEST_KILL_SEED", "11"))
    sweep = killed_once_and_resumed(tmp_path, f"{name}-killed", SCHEDULERS[name], seed)
    assert decisions(sweep) == expected
    curves = caviar.read_curves(str(sweep))
    assert not curves.duplicated(["trial_id", "iteration"]).any()


def pbt_history(sweep: Path) -> dict[str, Any]:
    """PBT's bookkeeping in the newest scheduler state the sweep saved (with Tune's snapshot):
    its perturbation count and, per trial, (last perturbation time, last score)."""
    from ray import cloudpickle

    from caviar.tune.resumable import saved_attributes

    files = sorted((sweep / "tune").glob("callback-states-*.pkl"), key=lambda p: p.stat().st_mtime)
    if not files:
        return {"perturbations": 0, "trials": {}}
    saved = cloudpickle.loads(files[-1].read_bytes())
    states = [s for s in _dicts(saved) if "scheduler" in s]
    attributes = saved_attributes(states[0]["scheduler"])
    return {
        "perturbations": int(attributes["_num_perturbations"]),
        "trials": {
            trial.trial_id: (int(state.last_perturbation_time), state.last_score)
            for trial, state in attributes["_trial_state"].items()
        },
    }


def _dicts(value: Any) -> list[dict[str, Any]]:
    """Every dict inside ``value`` (Tune's callback list state nests its callbacks' states)."""
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        found.append(value)
        for item in value.values():
            found.extend(_dicts(item))
    elif isinstance(value, list | tuple):
        for item in value:
            found.extend(_dicts(item))
    return found


@pytest.mark.slow  # two Ray starts, PBT pausing and cloning 8 trials on 2 CPUs: about a minute
def test_killed_and_resumed_pbt_continues_its_perturbation_history(tmp_path: Path) -> None:
    """kill -9 after PBT has perturbed trials, then `caviar resume`: its history goes on.

    The resumed PBT starts from the state saved with the snapshot the resume restored (its
    perturbation count, each trial's last perturbation time and score, the explorer's RNG),
    not afresh: nothing it knew is forgotten, no count goes back, every trial keeps its place.
    """
    pbt = {"name": "pbt", "perturbation_interval": 2}
    path = spec(tmp_path, "pbt", pbt, resources={"cpu": 1})  # two trials at a time
    raw = yaml.safe_load(path.read_text())
    raw["space"]["x"] = "uniform(0, 1)"  # PBT perturbs floats (a grid it cannot)
    raw["search"] = {"algorithm": "random", "num_samples": 6}
    path.write_text(yaml.safe_dump(raw))
    sweep = tmp_path / "results" / "pbt"
    process = start(["run", str(path), "--num-cpus", "2"], dict(os.environ))
    rng = random.Random(int(os.environ.get("CAVIAR_TEST_KILL_SEED", "11")))
    pause = rng.uniform(0.0, 1.0)
    perturbed_at: list[float] = []

    def perturbed_a_while_ago() -> bool:  # a random moment after PBT's first perturbation
        if not perturbed_at and pbt_history(sweep)["perturbations"] >= 1:
            perturbed_at.append(time.monotonic())
        return bool(perturbed_at) and time.monotonic() >= perturbed_at[0] + pause

    kill_when(process, perturbed_a_while_ago, "PBT perturbed a trial", poll_s=0.2)
    before = pbt_history(sweep)  # what the resume restores
    assert before["perturbations"] >= 1
    resumed = cli("resume", str(sweep), timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = pbt_history(sweep)
    assert after["perturbations"] >= before["perturbations"], (before, after)
    for trial_id, (perturbed_at, _) in before["trials"].items():
        assert trial_id in after["trials"], (trial_id, after)
        assert after["trials"][trial_id][0] >= perturbed_at, (trial_id, before, after)
    assert len(after["trials"]) == len(caviar.read_trials(str(sweep)))
    curves = caviar.read_curves(str(sweep))
    assert not curves.duplicated(["trial_id", "iteration"]).any()
