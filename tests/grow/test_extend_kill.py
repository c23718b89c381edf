"""kill -9 of `caviar extend` mid-extension, then `caviar resume`: the sweep ends with exactly the
old trials plus N, no old trial runs again, and every (trial_id, iteration) is stored once.

Ground truth is the trainable's fsynced log (tests/results/killable.py). The whole process group
is killed (driver, GCS, raylet, workers).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import caviar
from tests.conftest import kill_when
from tests.results.killable import GROUND_TRUTH_ENV, killable_spec
from tests.tune.test_kill_resume import log_lines, snapshot_statuses

EPOCHS, OLD, MORE = 4, 3, 4


@pytest.mark.slow  # 40-90 s each: three Ray starts
@pytest.mark.parametrize(
    "search",
    [
        {"algorithm": "random", "num_samples": OLD},
        {"algorithm": "tpe", "num_samples": OLD, "n_startup_trials": 2},
        {"algorithm": "coarse_to_fine", "num_samples": OLD + 1, "rounds": 2, "top_k": 2},
    ],
    ids=["random", "tpe", "coarse_to_fine"],
)
def test_kill_9_during_extend_then_resume(tmp_path: Path, search: dict[str, Any]) -> None:
    ground_truth = tmp_path / "ground_truth.csv"
    spec = killable_spec("grown", tmp_path / "results", EPOCHS, 0.5, search=search)
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    sweep = tmp_path / "results" / "grown"
    env = {**os.environ, GROUND_TRUTH_ENV: str(ground_truth)}
    cli = [sys.executable, "-m", "caviar.cli"]
    done = subprocess.run(
        [*cli, "run", str(tmp_path / "spec.yaml"), "--num-cpus", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    old = set(caviar.read_trials(str(sweep))["trial_id"])
    before = len(log_lines(ground_truth))

    recorded = yaml.safe_load((sweep / "sweep.yaml").read_text())
    process = subprocess.Popen(
        [*cli, "extend", str(sweep), "--trials", str(MORE)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    # Kill once Tune's saved snapshot lists a new trial.
    kill_when(process, lambda: bool(set(snapshot_statuses(sweep)) - old), "a new trial appeared")
    assert yaml.safe_load((sweep / "sweep.yaml").read_text()) != recorded  # the budget is raised

    resumed = subprocess.run(
        [*cli, "resume", str(sweep)], env=env, capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    trials = caviar.read_trials(str(sweep))
    n = len(old)
    assert len(trials) == n + MORE, trials
    assert old < set(trials["trial_id"])
    assert set(trials["status"]) == {"TERMINATED"}
    assert (trials["iterations"] == EPOCHS).all()
    after = log_lines(ground_truth)[before:]
    assert not {t for t, _ in after if t in old}, "old trials ran again"
    curves = caviar.read_curves(str(sweep))
    assert len(curves) == (n + MORE) * EPOCHS
    assert not curves.duplicated(["trial_id", "iteration"]).any()
