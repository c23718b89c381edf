"""One driver per sweep: the lock that run, resume and compact take (caviar.results.lock).

A second driver on a sweep used to run alongside the first: both exited 0, trials trained twice,
and each one's trials.parquet and end-of-sweep compaction deleted the other's rows. Now the second
one is refused in one line (exit 2) before Ray starts; a dead holder's lock is taken over.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import caviar
from caviar.results import lock
from caviar.results.lock import LOCK_FILE, SweepLocked, sweep_lock
from caviar.results.store import SweepStore
from tests.conftest import run_cli
from tests.results.synthetic import drive, make_callback, make_trials
from tests.results.test_s3 import s3_env  # noqa: F401  (the moto server fixture)

HOLD = """
import sys, time
from caviar.results.lock import sweep_lock
from caviar.results.store import SweepStore
with sweep_lock(SweepStore.at(sys.argv[1]), "run"):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock of a small synthetic sweep at tmp_path/s."""
    callback = make_callback(tmp_path / "s", flush_rows=2, flush_seconds=1e9)
    callback.setup()
    trials = make_trials(2)
    list(drive(callback, trials, range(1, 3)))
    for trial in trials:
        callback.on_trial_complete(0, trials, trial)
    callback.flush()
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "s")], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    try:
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()


def test_a_second_driver_is_refused_in_one_line_and_a_dead_ones_lock_is_taken_over(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    store = SweepStore.at(str(tmp_path / "s"))
    refused = pytest.raises(SweepLocked, match=rf"in use by `caviar run` \(pid {holder.pid} on ")
    with refused, sweep_lock(store, "resume"):
        pass
    os.kill(holder.pid, signal.SIGKILL)  # dies holding it: no chance to release
    holder.wait()
    with sweep_lock(store, "resume"):
        assert '"command": "resume"' in (tmp_path / "s" / LOCK_FILE).read_text()
        with sweep_lock(store, "compact"):  # re-entrant in one process
            pass
    assert not (tmp_path / "s" / LOCK_FILE).exists()


@pytest.mark.parametrize("command", ["resume", "compact"])
def test_resume_and_compact_of_a_held_sweep_exit_2_before_ray_starts(
    tmp_path: Path, holder: subprocess.Popen[str], command: str
) -> None:
    before = caviar.read_curves(str(tmp_path / "s"))
    start = time.monotonic()
    result = run_cli(command, str(tmp_path / "s"))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("caviar: error: SWEEP_DIR: ")
    assert f"in use by `caviar run` (pid {holder.pid}" in lines[0]
    assert "Traceback" not in result.stderr and "Ray" not in result.stdout
    assert time.monotonic() - start < 60  # not after an embedded Ray started and stopped
    assert caviar.read_curves(str(tmp_path / "s")).equals(before)


def test_a_resume_whose_tune_state_is_gone_refuses_and_keeps_the_results(tmp_path: Path) -> None:
    """tune/ removed to reclaim space: resuming used to rerun the sweep and drop these rows."""
    callback = make_callback(tmp_path / "s", flush_rows=2, flush_seconds=1e9)
    callback.setup()
    trials = make_trials(3)
    list(drive(callback, trials, range(1, 4)))
    for trial in trials:
        callback.on_trial_complete(0, trials, trial)
    callback.flush()
    files = sorted(p.relative_to(tmp_path) for p in (tmp_path / "s").rglob("*"))
    result = run_cli("resume", str(tmp_path / "s"))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "3 finished trials but no Ray Tune state (tune/ is gone)" in lines[0]
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "s").rglob("*")) == files
    assert len(caviar.read_trials(str(tmp_path / "s"))) == 3


@pytest.mark.usefixtures("s3_env")
def test_on_s3_the_lock_is_a_conditional_write_and_an_expired_lease_is_taken_over() -> None:
    store = SweepStore.at("s3://bucket/locks/sweep")
    release = lock._acquire(store, "run", lease_s=1.5)
    with pytest.raises(SweepLocked, match=r"in use by `caviar run`"):
        lock._acquire(store, "resume", lease_s=1.5)
    time.sleep(2.0)  # the renewing thread keeps a live holder's lease
    with pytest.raises(SweepLocked):
        lock._acquire(store, "resume", lease_s=1.5)

    # A holder that dies (its renewals stop) loses the lease once it runs out.
    dead = lock._S3Lease(lock.s3_client(), "bucket", "locks/other/driver.lock", {}, 0.5)
    dead.take(SweepStore.at("s3://bucket/locks/other"))
    dead.stop.set()
    time.sleep(0.8)
    taker = lock._acquire(SweepStore.at("s3://bucket/locks/other"), "resume", lease_s=5)
    dead.release()  # the old holder coming back must not delete the new holder's lock
    with pytest.raises(SweepLocked, match=r"`caviar resume`"):
        lock._acquire(SweepStore.at("s3://bucket/locks/other"), "compact", lease_s=5)
    taker()
    release()
    lock._acquire(store, "compact", lease_s=5)()  # released: free again


def test_a_lock_on_a_new_sweep_leaves_no_empty_directory_behind(tmp_path: Path) -> None:
    """A `caviar run` refused after taking the lock (a trial that fits no node) writes nothing."""
    store = SweepStore.at(str(tmp_path / "results" / "new"))
    with sweep_lock(store, "run"):
        assert (tmp_path / "results" / "new" / LOCK_FILE).exists()
    assert not (tmp_path / "results").exists()
