"""Faults of the driver: kill -9 of the `caviar` process alone at random points, and Ctrl-C.

Each is followed by `caviar resume`; the sweep must then finish with every (trial_id, iteration)
the trainable reported in Parquet exactly once (the trainable's own fsynced log is the truth).
The kill -9 of the whole process group (driver, GCS, raylet, workers) is
tests/results/test_kill_resume.py; a worker node killed is tests/cluster (the cluster suite).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import caviar
from tests.faults.summary import FaultRecord
from tests.faults.truth import rows_lost
from tests.results.killable import GROUND_TRUTH_ENV, killable_spec
from tests.results.test_kill_resume import (
    EPOCHS,
    TRIALS,
    kill_session,
    killed_and_resumed,
    lines,
    start,
)

pytestmark = pytest.mark.faults


def kill_the_driver(process: subprocess.Popen[bytes]) -> None:
    """kill -9 of the `caviar` process only; then clear what it leaves behind (its Ray)."""
    process.send_signal(signal.SIGKILL)
    process.wait()
    time.sleep(1.0)
    kill_session(process)


def _assert_complete(sweep: str, ground_truth: Path, fault: FaultRecord) -> None:
    fault.lost(rows_lost(sweep, ground_truth))
    trials = caviar.read_trials(sweep)
    assert len(trials) == TRIALS and set(trials["status"]) == {"TERMINATED"}
    assert trials["iterations"].tolist() == [EPOCHS] * TRIALS
    assert len(caviar.read_curves(sweep)) == TRIALS * EPOCHS
    assert fault.rows_lost == 0


# Too slow for CI's budget (four `caviar` processes, each starting its Ray): `make test-slow`.
@pytest.mark.slow
def test_kill_9_of_the_driver_at_random_points_then_resume(
    tmp_path: Path, fault: FaultRecord
) -> None:
    seed = int(os.environ.get("CAVIAR_TEST_KILL_SEED", "3"))
    sweep, ground_truth, killed = killed_and_resumed(tmp_path, seed, kills=2, kill=kill_the_driver)
    fault.inject(killed)
    assert killed >= 1
    _assert_complete(sweep, ground_truth, fault)


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_then_resume_finishes(tmp_path: Path, fault: FaultRecord) -> None:
    import yaml

    ground_truth = tmp_path / "ground_truth.csv"
    spec = killable_spec(
        "interrupted", tmp_path / "results", EPOCHS, 0.2, search={"num_samples": TRIALS}
    )
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    env = {**os.environ, GROUND_TRUTH_ENV: str(ground_truth)}
    process = start(["run", str(tmp_path / "spec.yaml"), "--num-cpus", "2"], env)
    deadline = time.monotonic() + 120
    while lines(ground_truth) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(random.Random(1).uniform(0.0, 1.0))
    assert process.poll() is None, "the sweep ended before it could be interrupted"
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
    fault.inject()
    try:
        _, stderr = process.communicate(timeout=120)
    finally:
        kill_session(process)
    assert process.returncode == 130, stderr.decode()[-2000:]
    assert b"caviar resume" in stderr and b"Traceback" not in stderr
    sweep = str(tmp_path / "results" / "interrupted")
    assert caviar.read_curves(sweep).shape[0] > 0  # what ran is already readable
    done = subprocess.run(
        [sys.executable, "-m", "caviar.cli", "resume", sweep],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    _assert_complete(sweep, ground_truth, fault)
