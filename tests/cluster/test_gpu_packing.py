"""Fractional GPUs on a `ray start --num-gpus 2` head with no real GPU: 0.25 GPU per trial runs 8
trials at once, 0.5 runs 4; a trial no node can hold fails before any trial starts (exit 2)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.cluster.barrier import max_overlap
from tests.cluster.conftest import Head
from tests.conftest import run_cli, small_spec

pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("ray-cluster")]


@pytest.fixture(scope="module")
def gpu_head(start_head: Callable[..., Head]) -> Head:
    """Fake GPUs: Ray schedules on them; CUDA is not there."""
    return start_head(num_cpus=8, num_gpus=2)


def _barrier_spec(tmp_path: Path, gpu: float, trials: int, wait_for: int) -> Path:
    spec = small_spec(
        tmp_path,
        name=f"gpu{gpu}",
        trainable="tests.cluster.barrier:train",
        search={"algorithm": "random", "num_samples": trials},
        resources={"cpu": 1, "gpu": gpu},
    )
    spec["space"] = {
        "lr": "loguniform(1e-3, 1e-1)",
        "barrier_dir": str(tmp_path / f"barrier-{gpu}"),
        "wait_for": wait_for,
        "timeout_s": 12,
    }
    path = tmp_path / f"gpu{gpu}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _run(tmp_path: Path, head: Head, spec: Path) -> pd.DataFrame:
    result = run_cli("run", str(spec), "--address", head.address, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 GPUs" in result.stdout
    name = yaml.safe_load(spec.read_text())["name"]
    return pd.read_parquet(tmp_path / "results" / name / "trials.parquet")


@pytest.mark.slow  # ~40 s: 8 worker processes start on 2 cores
def test_quarter_gpu_runs_eight_trials_at_once(tmp_path: Path, gpu_head: Head) -> None:
    trials = _run(tmp_path, gpu_head, _barrier_spec(tmp_path, 0.25, trials=8, wait_for=8))
    assert len(trials) == 8 and (trials["status"] == "TERMINATED").all()
    assert max_overlap(list(zip(trials["started"], trials["ended"], strict=True))) == 8
    assert set(trials["device"]) == {"cpu"}


@pytest.mark.slow
def test_half_gpu_runs_four_trials_at_once(tmp_path: Path, gpu_head: Head) -> None:
    # Six trials, each waiting for six to have started: if Ray ran more than 4 at once the overlap
    # would show it; it runs 4, which wait out their timeout, then the last 2.
    trials = _run(tmp_path, gpu_head, _barrier_spec(tmp_path, 0.5, trials=6, wait_for=6))
    assert len(trials) == 6 and (trials["status"] == "TERMINATED").all()
    assert max_overlap(list(zip(trials["started"], trials["ended"], strict=True))) == 4


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        (
            {"cpu": 1, "gpu": 3},
            "resources.gpu: a trial asks for 1 CPU and 3 GPUs, but the node with the most GPUs has 2 GPUs",
        ),
        (
            {"cpu": 64, "gpu": 0},
            "resources.cpu: a trial asks for 64 CPUs, but the node with the most CPUs has 8 CPUs",
        ),
    ],
)
def test_a_trial_no_node_can_hold_fails_before_trials_start(
    tmp_path: Path, gpu_head: Head, resources: dict[str, float], message: str
) -> None:
    spec = small_spec(tmp_path, resources=resources)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = run_cli("run", str(path), "--address", gpu_head.address, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith(f"caviar: error: {message}"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "results").exists()  # nothing written, no trial started
