"""The embedded Ray starts in the background while the driver goes on (``connect.starting``):
whatever stops the command during start-up (an error, Ctrl-C) leaves no Ray process running.

Each test starts Ray in a fresh process with its own RAY_TMPDIR; a process of that Ray carries
the directory in its command line, which is how the leftovers are found. Only bad input is
checked before Ray starts (tests/faults/test_bad_input.py: Ray never started there).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, small_spec

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.xdist_group("ray-cluster"),
    pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs Linux's /proc"),
]


def ray_processes(ray_tmp: Path) -> list[str]:
    """The command lines of live processes that belong to the Ray under ``ray_tmp`` (Linux's
    /proc; a zombie has an empty command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(ray_tmp) in command:
            found.append(command)
    return found


def none_left(ray_tmp: Path, timeout: float = 60) -> list[str]:
    """Poll until no process of that Ray is alive (ray.shutdown does not wait for them)."""
    deadline = time.monotonic() + timeout
    while (left := ray_processes(ray_tmp)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@pytest.fixture
def ray_tmp() -> Iterator[Path]:
    """A short RAY_TMPDIR: Ray's socket paths under it must fit in a Unix socket's 107 bytes."""
    directory = Path(tempfile.mkdtemp(prefix="cvr-", dir="/tmp"))
    yield directory / "ray"
    shutil.rmtree(directory, ignore_errors=True)


def env_for(ray_tmp: Path) -> dict[str, str]:
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "RAY_TMPDIR": str(ray_tmp), "PYTHONPATH": path}


def test_an_error_while_ray_starts_stops_it(ray_tmp: Path) -> None:
    script = (
        "import ray\n"
        "from caviar.cluster.connect import starting\n"
        "try:\n"
        "    with starting(num_cpus=1):\n"
        "        raise RuntimeError('boom')\n"
        "except RuntimeError:\n"
        "    print('raised', ray.is_initialized())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env_for(ray_tmp),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "raised False"
    assert ray_tmp.exists()  # it did start, in the background
    assert not none_left(ray_tmp)


def test_ctrl_c_while_ray_starts_exits_130_and_leaves_no_ray(tmp_path: Path, ray_tmp: Path) -> None:
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(small_spec(tmp_path)))
    driver = subprocess.Popen(
        [sys.executable, "-m", "caviar.cli", "run", str(tmp_path / "spec.yaml")],
        env=env_for(ray_tmp),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not ray_processes(ray_tmp) and time.monotonic() < deadline:
            assert driver.poll() is None, driver.communicate()
            time.sleep(0.05)
        assert ray_processes(ray_tmp), "Ray never started"
        driver.send_signal(signal.SIGINT)  # as Ctrl-C does, while Ray starts
        _, err = driver.communicate(timeout=240)
    finally:
        if driver.poll() is None:
            driver.kill()
    # 130 as for any Ctrl-C; the "caviar: interrupted" line is missing when the Ctrl-C lands
    # inside ray.init (Ray's start-up swallows it, on main before this change as well).
    assert driver.returncode == 130, err
    assert "Traceback" not in err
    assert not none_left(ray_tmp)
    assert not list((tmp_path / "results").rglob("*.parquet"))


def test_a_ray_that_cannot_start_is_one_line_exit_1_and_nothing_written(
    tmp_path: Path, ray_tmp: Path
) -> None:
    """Ray's own start-up failures (here: its temporary directory is a file; on a loaded machine,
    a raylet that misses Ray's 30 s wait) are no bad input of the user's, and no traceback."""
    ray_tmp.write_text("a file where Ray wants a directory")
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(small_spec(tmp_path)))
    done = subprocess.run(
        [sys.executable, "-m", "caviar.cli", "run", str(tmp_path / "spec.yaml")],
        env=env_for(ray_tmp),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("caviar: error: the embedded Ray did not start (NotADirectoryError")
    assert str(ray_tmp) in lines[0]  # it names the directory to check
    assert not (tmp_path / "results").exists()
    assert not none_left(ray_tmp)
