"""A fused sweep stopped with Ctrl-C mid-bundle, then `caviar resume`: every member finishes once.

Bundles restore every member's weights, optimizer moments and RNGs from their checkpoint, so each
member's curve after the resume is the curve of the same config trained alone, uninterrupted.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

import caviar
from caviar.trainables.data import DataSpec
from caviar.trainables.mlp import train_mlp
from tests.results.test_kill_resume import kill_session
from tests.trainables.recording import RecordingContext

EPOCHS, TRIALS = 12, 8
DATA = {"synthetic": "classification", "n_samples": 12000, "n_features": 10, "n_classes": 3}
SPACE = {"lr": "loguniform(1e-3, 1e-1)", "hidden_units": 32, "batch_size": 64, "epochs": EPOCHS}


@pytest.mark.slow
def test_ctrl_c_then_resume_finishes_every_member_exactly_as_alone(tmp_path: Path) -> None:
    spec = {
        "name": "fused",
        "data": DATA,
        "metric": "val_loss",
        "space": SPACE,
        "search": {"num_samples": TRIALS},
        "fuse": 4,
        "storage": str(tmp_path / "results"),
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    sweep = tmp_path / "results" / "fused"
    process = subprocess.Popen(
        [sys.executable, "-m", "caviar.cli", "run", str(tmp_path / "spec.yaml"), "--num-cpus", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not list(sweep.glob("tune/*/checkpoint_*")) and time.monotonic() < deadline:
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            kill_session(process)
    interrupted = caviar.read_trials(str(sweep))
    assert (interrupted["iterations"] < EPOCHS).any(), "the sweep ended before Ctrl-C"

    final = subprocess.run(
        [sys.executable, "-m", "caviar.cli", "resume", str(sweep)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert final.returncode == 0, final.stderr[-3000:]
    trials = caviar.read_trials(str(sweep))
    assert len(trials) == TRIALS and set(trials["status"]) == {"TERMINATED"}
    assert trials["iterations"].tolist() == [EPOCHS] * TRIALS
    curves = caviar.read_curves(str(sweep))
    assert len(curves) == TRIALS * EPOCHS
    assert not curves.duplicated(["trial_id", "iteration"]).any()
    data = DataSpec.from_dict(DATA)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the trials ran (one CPU each)
    try:
        _check_curves_match_alone(trials, curves, data)
    finally:
        torch.set_num_threads(threads)


def _check_curves_match_alone(trials: pd.DataFrame, curves: pd.DataFrame, data: DataSpec) -> None:
    for row in trials.itertuples():
        config = {**SPACE, "lr": row.lr, "seed": row.seed}
        alone = RecordingContext(data)
        train_mlp(config, alone)
        member = curves[curves["trial_id"] == row.trial_id].sort_values("iteration")
        np.testing.assert_allclose(
            member["val_loss"], [r["val_loss"] for r in alone.reports], rtol=0, atol=1e-5
        )
