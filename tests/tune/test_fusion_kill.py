"""A fused sweep under ASHA killed with kill -9 and resumed cuts the members the uninterrupted one cuts.

The sweep's one ASHA (caviar/tune/sweep_rungs.py) lives in a Ray actor that dies with the driver;
the resumed driver rebuilds its rungs from the curves stored for the trials Tune restored, and a
bundle that restarts from an earlier checkpoint is decided again at the rungs its members reach a
second time, against the records that came before theirs. Bundles run one at a time
(``max_concurrent: 1``) with a deterministic trainable (the built-in mlp on a seeded problem), so
the uninterrupted sweep's cuts are a fixed function of the configs.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import caviar
from tests.conftest import kill_when
from tests.results.test_kill_resume import start

EPOCHS = 8
SPEC: dict[str, Any] = {
    "trainable": "mlp",
    "data": {"synthetic": "classification", "n_samples": 3000, "n_features": 8, "n_classes": 3},
    "metric": "val_loss",
    "mode": "min",
    "space": {
        "lr": "loguniform(1e-4, 1)",
        "hidden_units": 16,
        "layers": 1,
        "batch_size": 32,
        "dropout": "uniform(0, 0.3)",
        "epochs": EPOCHS,
    },
    "search": {"algorithm": "random", "num_samples": 9},
    "scheduler": {"name": "asha", "grace_period": 1, "reduction_factor": 2, "max_t": EPOCHS},
    "fuse": 3,
    "max_concurrent": 1,
    "seed": 1,
}


def write_spec(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**SPEC, "name": name, "storage": str(tmp_path / "results")}))
    return path


def cli(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "caviar.cli", *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]


def cuts(sweep: Path) -> dict[int, tuple[int, bool]]:
    """Per config (its seed): the iteration it ended at, and whether ASHA cut it there."""
    trials = caviar.read_trials(str(sweep))
    assert set(trials["status"]) == {"TERMINATED"}, trials[["trial_id", "status"]]
    return {int(r.seed): (int(r.iterations), bool(r.stopped_early)) for r in trials.itertuples()}


def stored_rows(sweep: Path) -> int:
    try:
        return len(caviar.read_curves(str(sweep), columns=["val_loss"]))
    except (FileNotFoundError, OSError, ValueError):
        return 0


@pytest.mark.slow  # three Ray starts on 2 cores: about a minute and a half
def test_killed_and_resumed_fused_asha_sweep_cuts_the_same_members(tmp_path: Path) -> None:
    cli("run", str(write_spec(tmp_path, "straight")), "--num-cpus", "2")
    expected = cuts(tmp_path / "results" / "straight")
    assert any(cut for _, cut in expected.values()), expected  # ASHA decided something
    total = sum(iterations for iterations, _ in expected.values())

    sweep = tmp_path / "results" / "killed"
    process = start(
        ["run", str(write_spec(tmp_path, "killed")), "--num-cpus", "2"], dict(os.environ)
    )
    rng = random.Random(int(os.environ.get("CAVIAR_TEST_KILL_SEED", "7")))
    want = rng.randint(EPOCHS, total // 2)  # rows on storage: the first bundle at least started
    kill_when(process, lambda: stored_rows(sweep) >= want, f"{want} rows were stored")
    assert stored_rows(sweep) < total, "killed too late: every row was stored"

    cli("resume", str(sweep))
    assert cuts(sweep) == expected
    curves = caviar.read_curves(str(sweep))
    assert not curves.duplicated(["trial_id", "iteration"]).any()
    assert len(curves) == total
