"""The fault matrix: trainable shapes x schedulers x faults; nothing a trial reported is ever lost.

Shapes (tests/trainables/shapes.py, fsynced side file as ground truth): checkpoints every
iteration, every 3rd, never; raises after 3 reports; reports NaN; and a fused mlp bundle (checked
against each member trained alone). Schedulers: fifo, asha, hyperband, median, pbt (fused bundles
take fifo and asha only, as the spec allows). Faults: kill -9 of the driver twice at seeded random
moments, each followed by `caviar resume`; Ctrl-C then resume; the trial's own exception (raised
once, retried by ``max_failures: 1`` from its checkpoint or from scratch).

Afterwards every curve is contiguous from 1, no (trial_id, iteration) is stored twice, every
report of the run that finished is in curves/ (the row names its run), nothing is left RUNNING. The
terminal summary gets `fault matrix: cases N, rows reported R, rows lost 0, duplicated 0`.
A few in-process cases run in `make test`; the whole matrix (subprocesses, each with its own Ray)
in `make test-slow`.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
import yaml

import caviar
from caviar.spec.parse import parse_spec
from caviar.tune.run import run_sweep
from tests.conftest import kill_session
from tests.faults.summary import record_matrix_case
from tests.faults.test_driver_faults import kill_the_driver
from tests.results.test_kill_resume import start
from tests.trainables.shapes import final_runs

pytestmark = pytest.mark.faults

EPOCHS, TRIALS = 6, 4
SHAPES: dict[str, dict[str, Any]] = {
    "every1": {"checkpoint_every": 1},
    "every3": {"checkpoint_every": 3},
    "never": {"checkpoint_every": 0},
    "raises": {"checkpoint_every": 1, "raise_after": 3},
    "nan": {"checkpoint_every": 1, "nan_at": 4},
    "fused": {},
}
SCHEDULERS: dict[str, dict[str, Any]] = {
    "fifo": {"name": "fifo"},
    "asha": {"name": "asha", "grace_period": 1, "reduction_factor": 2, "max_t": EPOCHS},
    "hyperband": {"name": "hyperband", "reduction_factor": 2, "max_t": EPOCHS},
    "median": {"name": "median", "grace_period": 1, "min_samples_required": 2},
    "pbt": {"name": "pbt", "perturbation_interval": 2},
}
FAULTS = ("kill9x2", "ctrlc", "own")
CASES = [
    (shape, scheduler, fault)
    for shape in SHAPES
    for scheduler in SCHEDULERS
    for fault in FAULTS
    if not (shape == "fused" and (scheduler not in ("fifo", "asha") or fault == "own"))
]
# In `make test`: the trial's own exception, in-process on the shared Ray, across shapes and
# schedulers (the driver faults need processes of their own: 1 min a case on 2 cores).
FAST = {("every3", "asha", "own"), ("never", "median", "own"), ("every1", "pbt", "own")}


def case_spec(tmp_path: Path, shape: str, scheduler: str, fault: str) -> dict[str, Any]:
    name = f"{shape}-{scheduler}-{fault}"
    spec: dict[str, Any] = {
        "name": name,
        "metric": "loss" if shape != "fused" else "val_loss",
        "mode": "min",
        "search": {"algorithm": "random", "num_samples": TRIALS},
        "scheduler": SCHEDULERS[scheduler],
        "max_failures": 1 if fault == "own" else 0,
        "seed": 3,
        "storage": str(tmp_path / "results"),
    }
    if shape == "fused":
        spec.update(
            trainable="mlp",
            data={"synthetic": "classification", "n_samples": 300, "n_features": 6},
            space={
                "lr": "loguniform(1e-3, 1e-1)",
                "hidden_units": 8,
                "layers": 1,
                "batch_size": 64,
                "epochs": EPOCHS,
            },
            fuse=2,
        )
        return spec
    spec.update(
        trainable="tests.trainables.shapes:train",
        space={
            "x": "uniform(0, 1)",
            "epochs": EPOCHS,
            "sleep": 0.05 if fault == "own" else 0.25,
            "log": str(tmp_path / "truth.csv"),
            "markers": str(tmp_path / "markers"),
            **SHAPES[shape],
            **({"fail_once_at": 3} if fault == "own" else {}),
        },
    )
    return spec


def reports(truth: Path) -> int:
    if not truth.exists():
        return 0
    return sum(1 for line in truth.read_text().split() if line.count(",") == 2)


def interrupt(
    process: subprocess.Popen[bytes], truth: Path, rng: random.Random, sweep: Path
) -> bool:
    """Wait for a few new reports (or, without a side file, for results on storage and a random
    while), then return True: the caller interrupts it. False: it finished first."""
    deadline = time.monotonic() + 240
    want = reports(truth) + rng.randint(1, 6)
    while process.poll() is None:
        assert time.monotonic() < deadline, "the sweep reported too little in time"
        if truth.exists() and reports(truth) >= want:
            break
        if not truth.exists() and (sweep / "trials.parquet").exists():
            time.sleep(rng.uniform(0.0, 3.0))
            break
        time.sleep(0.05)
    time.sleep(rng.uniform(0.0, 0.5))
    return process.poll() is None


def ctrl_c(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
    try:
        process.wait(timeout=120)
    finally:
        kill_session(process)
    assert process.returncode in (0, 130), process.returncode


def run_with_driver_faults(tmp_path: Path, spec: dict[str, Any], fault: str, seed: int) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    sweep = tmp_path / "results" / spec["name"]
    truth = tmp_path / "truth.csv"
    rng = random.Random(seed)
    faults: list[Callable[[subprocess.Popen[bytes]], None]] = (
        [kill_the_driver, kill_the_driver] if fault == "kill9x2" else [ctrl_c]
    )

    def command() -> list[str]:
        if (sweep / "sweep.yaml").exists():
            return ["resume", str(sweep)]
        return ["run", str(path), "--num-cpus", "2"]

    for inject in faults:
        process = start(command(), dict(os.environ))
        if interrupt(process, truth, rng, sweep):
            inject(process)
        else:
            process.wait()
            kill_session(process)
    final = subprocess.run(
        [sys.executable, "-m", "caviar.cli", *command()],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # A sweep whose every trial raised (the "raises" shape without early stopping) exits 1, as
    # documented; `check` then holds its rows to the same guarantees.
    every_trial_failed = final.returncode == 1 and "every trial failed" in final.stderr
    assert final.returncode == 0 or every_trial_failed, final.stderr[-3000:]
    return sweep


def check(sweep: Path, truth: Path | None, spec: dict[str, Any]) -> tuple[int, int, int]:
    """Assert the guarantees; returns (rows reported, rows lost, rows stored twice)."""
    trials = caviar.read_trials(str(sweep))
    assert len(trials) and set(trials["status"]) <= {"TERMINATED", "ERROR"}, trials[
        ["trial_id", "status"]
    ]
    keys = duckdb.sql(
        f"select trial_id, iteration from read_parquet('{sweep}/curves/*.parquet')"
    ).fetchall()
    duplicated = len(keys) - len(set(keys))
    curves = caviar.read_curves(str(sweep))
    for row in trials.itertuples():
        mine = sorted(curves.loc[curves["trial_id"] == row.trial_id, "iteration"].astype(int))
        assert mine == list(range(1, int(row.iterations or 0) + 1)), (row.trial_id, mine)
    if truth is None:
        reported, lost = fused_truth(curves, trials, spec)
    else:
        expected = final_runs(truth.read_text().split())
        known = set(trials["trial_id"])
        expected = {k: v for k, v in expected.items() if k[0] in known}
        stored = {
            (t, int(i)): int(r)
            for t, i, r in zip(curves["trial_id"], curves["iteration"], curves["run"], strict=True)
        }
        reported = len(expected)
        lost = sum(1 for key, token in expected.items() if stored.get(key) != token)
    return reported, lost, duplicated


def fused_truth(curves: Any, trials: Any, spec: dict[str, Any]) -> tuple[int, int]:
    """Each member's stored curve against the same config trained alone (the fused ground truth)."""
    import torch

    from caviar.trainables.data import DataSpec
    from caviar.trainables.mlp import train_mlp
    from tests.trainables.recording import RecordingContext

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the trials ran (one CPU each)
    reported = lost = 0
    try:
        for row in trials.itertuples():
            config = {**spec["space"], "lr": row.lr, "seed": row.seed}
            alone = RecordingContext(DataSpec.from_dict(spec["data"]))
            train_mlp(config, alone)
            member = curves[curves["trial_id"] == row.trial_id].sort_values("iteration")
            want = [r["val_loss"] for r in alone.reports][: len(member)]
            reported += len(want)
            lost += int(np.sum(~np.isclose(member["val_loss"], want, rtol=0, atol=1e-5)))
    finally:
        torch.set_num_threads(threads)
    return reported, lost


def _params() -> list[Any]:
    return [
        pytest.param(
            *case,
            id="-".join(case),
            marks=[
                *([] if case in FAST else [pytest.mark.slow]),
                *([pytest.mark.xdist_group("ray")] if case[2] == "own" else []),
            ],
        )
        for case in CASES
    ]


@pytest.mark.parametrize(("shape", "scheduler", "fault"), _params())
def test_fault_matrix(
    tmp_path: Path, request: pytest.FixtureRequest, shape: str, scheduler: str, fault: str
) -> None:
    spec = case_spec(tmp_path, shape, scheduler, fault)
    truth = None if shape == "fused" else tmp_path / "truth.csv"
    if fault == "own":
        request.getfixturevalue("ray_local")
        outcome = run_sweep(parse_spec(spec), show_progress=False)
        sweep = Path(outcome.sweep_uri)
        assert len(list((tmp_path / "markers").iterdir())) >= 1  # an exception was raised
    else:
        seed = int(os.environ.get("CAVIAR_TEST_KILL_SEED", "5")) + len(request.node.name)
        sweep = run_with_driver_faults(tmp_path, spec, fault, seed)
    reported, lost, duplicated = check(sweep, truth, spec)
    record_matrix_case(request.node, reported, lost, duplicated)
    assert reported > 0
    assert (lost, duplicated) == (0, 0)
