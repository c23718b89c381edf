"""`caviar submit` to a local head's dashboard runs the sweep as a Ray job; status, logs and stop work."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.cluster.conftest import Head, free_port
from tests.conftest import run_cli, small_spec

pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("ray-cluster")]


@pytest.mark.slow  # a head with its dashboard, a job's upload and driver: ~1 min
def test_submit_runs_the_sweep_as_a_ray_job(
    tmp_path: Path, start_head: Callable[..., Head]
) -> None:
    head = start_head(num_cpus=2, dashboard=True)
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    spec = small_spec(tmp_path, search={"algorithm": "random", "num_samples": 2})
    spec["space"]["epochs"] = 2
    (job_dir / "sweep.yaml").write_text(yaml.safe_dump(spec))
    (job_dir / "results").mkdir()
    (job_dir / "results" / "big.bin").write_bytes(b"x" * 1000)  # excluded from the upload

    submitted = run_cli(
        "submit", "sweep.yaml", "--address", head.dashboard, "--working-dir", ".", cwd=job_dir
    )
    assert submitted.returncode == 0, submitted.stderr[-3000:]
    job_id = submitted.stdout.strip()
    assert job_id.startswith("raysubmit_")

    deadline = time.monotonic() + 300
    state = ""
    while time.monotonic() < deadline:
        state = run_cli("status", job_id, "--address", head.dashboard).stdout.strip()
        if state in ("SUCCEEDED", "FAILED", "STOPPED"):
            break
        time.sleep(3)
    logs = run_cli("logs", job_id, "--address", head.dashboard)
    assert state == "SUCCEEDED", logs.stdout[-3000:]
    assert logs.returncode == 0
    # The job's driver joined the head's cluster (not an embedded Ray) and ran the sweep.
    assert "connected to the Ray cluster at " in logs.stdout and f":{head.port} " in logs.stdout
    assert "2 trials" in logs.stdout
    trials = pd.read_parquet(tmp_path / "results" / "small" / "trials.parquet")
    assert len(trials) == 2 and (trials["status"] == "TERMINATED").all()

    stopped = run_cli("stop", job_id, "--address", head.dashboard)
    assert stopped.returncode == 0 and "already ended" in stopped.stdout
    missing = run_cli("status", "raysubmit_nope", "--address", head.dashboard)
    assert missing.returncode == 2 and "no job 'raysubmit_nope'" in missing.stderr


def test_submit_to_an_unreachable_dashboard_fails_fast(tmp_path: Path) -> None:
    spec = small_spec(tmp_path)
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(spec))
    address = f"http://127.0.0.1:{free_port()}"
    result = run_cli("submit", "sweep.yaml", "--address", address, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"caviar: error: --address: cannot connect to Ray at '{address}'")
    )
