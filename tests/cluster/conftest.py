"""Real Ray clusters on localhost for the cluster tests: `ray start --head` on free ports.

Each head gets its own RAY_TMPDIR, so `--address auto` (which reads Ray's current-cluster file
under it) finds this test's cluster and not one that another process on the machine started.
Only the head's own process group is stopped afterwards; never `ray stop`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Head:
    """A running `ray start --head`: where it listens and the environment that finds it."""

    port: int
    tmpdir: str
    dashboard_port: int | None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def dashboard(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def env(self) -> dict[str, str]:
        """Environment of a client that should find this head by `--address auto`."""
        return {"RAY_TMPDIR": self.tmpdir}


def _ray_bin() -> str:
    candidate = Path(sys.executable).parent / "ray"
    return str(candidate if candidate.exists() else shutil.which("ray"))


def _wait_for_port(port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.5)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the head's process group, SIGKILL what is left after a grace period."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def start_head() -> Iterator[Callable[..., Head]]:
    """Start `ray start --head` clusters (CPUs, fake GPUs, dashboard as asked); stop them after."""
    started: list[tuple[subprocess.Popen[bytes], str]] = []

    def start(num_cpus: int = 2, num_gpus: int = 0, dashboard: bool = False) -> Head:
        port = free_port()
        dashboard_port = free_port() if dashboard else None
        tmpdir = tempfile.mkdtemp(prefix="cvr")  # short: Ray's socket paths live under it
        args = [
            _ray_bin(),
            "start",
            "--head",
            "--block",
            f"--port={port}",
            f"--num-cpus={num_cpus}",
            f"--num-gpus={num_gpus}",
            "--disable-usage-stats",
            f"--ray-client-server-port={free_port()}",
        ]
        if dashboard:
            args += [
                "--include-dashboard=true",
                "--dashboard-host=127.0.0.1",
                f"--dashboard-port={dashboard_port}",
                f"--dashboard-agent-listen-port={free_port()}",
            ]
        else:
            args.append("--include-dashboard=false")
        env = {
            **os.environ,
            "RAY_TMPDIR": tmpdir,
            "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",
            # Ray jobs run `caviar ...` from the head's PATH: this interpreter's.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        }
        log = open(Path(tmpdir) / "head.log", "wb")  # noqa: SIM115 - lives as long as the head
        process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        started.append((process, tmpdir))
        ports = [port] + ([dashboard_port] if dashboard_port else [])
        if not all(_wait_for_port(p, 90) for p in ports):
            raise RuntimeError(
                "ray start --head did not come up: "
                + (Path(tmpdir) / "head.log").read_text()[-2000:]
            )
        current = Path(tmpdir) / "ray" / "ray_current_cluster"
        deadline = time.monotonic() + 30
        while not current.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        return Head(port, tmpdir, dashboard_port)

    yield start
    for process, tmpdir in started:
        _stop(process)
        shutil.rmtree(tmpdir, ignore_errors=True)
