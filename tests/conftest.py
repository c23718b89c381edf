"""Shared fixtures: one local Ray per pytest process, and small specs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# The faults suite's summary line (faults injected/survived, rows lost, bad inputs explained).
pytest_plugins = ["tests.faults.summary"]

ROOT = Path(__file__).resolve().parent.parent
# Ray workers import caviar and the tests' trainables from the source tree.
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
os.environ.setdefault("RAY_DEDUP_LOGS", "0")


@pytest.fixture(scope="session")
def ray_local() -> Iterator[None]:
    """One embedded Ray for every test of this process that needs one (mark: xdist_group('ray'))."""
    import ray

    from caviar.cluster.connect import runtime_env

    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env=runtime_env(),
    )
    yield
    ray.shutdown()


def small_spec(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """A sweep spec that runs in seconds: a tiny MLP on a tiny synthetic problem."""
    spec: dict[str, Any] = {
        "name": "small",
        "trainable": "mlp",
        "data": {"synthetic": "classification", "n_samples": 300, "n_features": 8, "n_classes": 3},
        "metric": "val_loss",
        "mode": "min",
        "space": {
            "lr": "loguniform(1e-3, 1e-1)",
            "hidden_units": "integer(8, 16)",
            "layers": 1,
            "batch_size": 64,
            "epochs": 4,
        },
        "search": {"algorithm": "random", "num_samples": 4},
        "scheduler": {"name": "fifo"},
        "seed": 0,
        "storage": str(tmp_path / "results"),
    }
    spec.update(overrides)
    return spec


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``caviar`` command as a user would, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "caviar.cli", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def kill_when(
    process: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    what: str,
    timeout: float = 240,
    poll_s: float = 0.05,
) -> None:
    """SIGKILL the command's whole session as soon as ``ready()`` holds. Fails when the command
    ends first, or when ``ready`` does not hold within ``timeout`` (``what`` names it)."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, f"the command ended before {what}"
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(poll_s)
    assert process.poll() is None, f"the command ended before it could be killed ({what})"
    kill_session(process)


def kill_session(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the command and every process of its session (Ray's GCS, raylet, workers)."""
    with contextlib.suppress(ProcessLookupError):  # the group may be gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) == process.pid:
                os.kill(int(entry.name), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
