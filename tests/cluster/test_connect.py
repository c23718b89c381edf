"""Connecting to Ray: `--address auto` joins the cluster `ray start --head` started; RAY_ADDRESS works;
an unreachable address fails in seconds with one line and exit 2."""

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


def _spec_file(tmp_path: Path, **overrides: object) -> Path:
    spec = small_spec(tmp_path, search={"algorithm": "random", "num_samples": 2}, **overrides)
    spec["space"]["epochs"] = 2
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_address_auto_joins_the_ray_start_cluster(
    tmp_path: Path, start_head: Callable[..., Head]
) -> None:
    head = start_head(num_cpus=2)
    result = run_cli("run", str(_spec_file(tmp_path)), "--address", "auto", env=head.env)
    assert result.returncode == 0, result.stderr[-3000:]
    # The message names this test's head by its (free, random) GCS port: not a new, embedded Ray.
    assert "connected to the Ray cluster at " in result.stdout
    assert f":{head.port} (1 node, 2 CPUs)" in result.stdout, result.stdout
    assert "embedded" not in result.stdout
    trials = pd.read_parquet(tmp_path / "results" / "small" / "trials.parquet")
    assert (trials["status"] == "TERMINATED").all() and len(trials) == 2


@pytest.mark.slow  # ~35 s on a loaded 2-core machine; `auto` above covers the same path
def test_ray_address_in_the_environment_is_used(
    tmp_path: Path, start_head: Callable[..., Head]
) -> None:
    head = start_head(num_cpus=1)
    # An explicit address: Ray itself would not send the auth token the `ray start` head asks for.
    env = {"RAY_ADDRESS": head.address, "RAY_TMPDIR": str(tmp_path)}  # no current-cluster file
    result = run_cli("run", str(_spec_file(tmp_path)), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f":{head.port} (1 node, 1 CPUs)" in result.stdout, result.stdout


def test_unreachable_address_fails_fast_with_exit_2(tmp_path: Path) -> None:
    started = time.monotonic()
    address = f"127.0.0.1:{free_port()}"
    result = run_cli("run", str(_spec_file(tmp_path)), "--address", address, timeout=60)
    seconds = time.monotonic() - started
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith(
        f"caviar: error: --address: cannot connect to Ray at '{address}'"
    )
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "results").exists()
    assert seconds < 30, f"took {seconds:.0f} s"


def test_unknown_scheme_is_bad_input(tmp_path: Path) -> None:
    result = run_cli("run", str(_spec_file(tmp_path)), "--address", "http://127.0.0.1:8265")
    assert result.returncode == 2
    assert "use auto, HOST:PORT or ray://HOST:PORT" in result.stderr
