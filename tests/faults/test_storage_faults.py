"""Faults of the storage: it fills up or turns read-only mid-sweep; a Parquet part is damaged.

A full or read-only disk is real: the sweep's storage is a small tmpfs mounted for the test, filled
up (ENOSPC) or remounted read-only (EROFS) once results have landed. The sweep must stop with one
clear error, what was flushed must stay readable, and `caviar resume` must finish the sweep, once
the disk has room again, with every reported row exactly once. Mounting needs root (CAP_SYS_ADMIN);
where it is not permitted these two cases are skipped, saying so.

A damaged part (truncated, or a corrupted row group) is skipped by readers with a warning, and
`caviar compact --repair` keeps every row group that still reads and moves the original aside.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import caviar
from caviar.cli import main
from caviar.errors import SweepFailed
from caviar.results.store import CURVES_DIR, SweepStore
from caviar.spec.parse import parse_spec
from caviar.tune.run import resume_sweep, run_sweep
from tests.faults.summary import FaultRecord
from tests.faults.truth import reported, rows_lost
from tests.results.synthetic import drive, make_callback, make_trials

pytestmark = pytest.mark.faults


def _mount(point: Path, size: str) -> bool:
    point.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
        capture_output=True,
        text=True,
    )
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    point = tmp_path / "disk"
    if not _mount(point, "64m"):
        pytest.skip("mounting a tmpfs is not permitted here (needs root with CAP_SYS_ADMIN)")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def _fill(point: Path) -> None:
    """Write until the disk is full (ENOSPC)."""
    with open(point / "filler", "wb") as filler:
        block = b"\0" * 2**20
        try:
            while True:
                filler.write(block)
                filler.flush()
        except OSError:
            pass
        with contextlib.suppress(OSError):
            os.fsync(filler.fileno())


def _readonly(point: Path, on: bool) -> None:
    option = "remount,ro" if on else "remount,rw"
    subprocess.run(["mount", "-o", option, str(point)], check=True, capture_output=True)


@pytest.mark.xdist_group("ray")
@pytest.mark.parametrize("how", ["full", "read-only"])
def test_storage_full_or_read_only_mid_sweep(
    ray_local: None,
    small_disk: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fault: FaultRecord,
    how: str,
) -> None:
    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "1")  # snapshots (and flushes) every second
    ground_truth = tmp_path / "ground_truth.csv"
    spec = {
        "name": "disk",
        "trainable": "tests.faults.faulty:train",
        "metric": "loss",
        "space": {
            "x": "uniform(0, 1)",
            "epochs": 12,
            "sleep": 0.05,
            "log": str(ground_truth),
            "gate": str(tmp_path / "injected"),  # trials wait at iteration 3 until the fault
        },
        "search": {"num_samples": 4},
        "storage": str(small_disk),
    }
    sweep = small_disk / "disk"
    injected = threading.Event()

    def inject() -> None:
        try:
            deadline = time.monotonic() + 120
            while not list((sweep / CURVES_DIR).glob("part-*.parquet")):
                if time.monotonic() > deadline:
                    return
                time.sleep(0.05)
            if how == "full":
                _fill(small_disk)
            else:
                _readonly(small_disk, True)
            injected.set()
        finally:
            (tmp_path / "injected").touch()  # the trials go on: their next results cannot land

    thread = threading.Thread(target=inject, daemon=True)
    thread.start()
    with pytest.raises(SweepFailed) as failure:
        run_sweep(parse_spec(spec), False)
    thread.join(timeout=5)
    assert injected.is_set()
    fault.inject()
    message = str(failure.value)
    reason = "No space left on device" if how == "full" else "Read-only file system"
    assert message.startswith(f"storage: cannot write the results to {sweep}") and reason in message
    assert "\n" not in message

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no half-written file is visible to readers
        flushed = caviar.read_curves(str(sweep))
        caviar.read_trials(str(sweep))
    assert len(flushed) > 0
    truth = reported(ground_truth)
    assert set(zip(flushed["trial_id"], flushed["iteration"], strict=True)) <= truth

    if how == "full":
        (small_disk / "filler").unlink()
    else:
        _readonly(small_disk, False)
    outcome = resume_sweep(str(sweep), False)
    assert outcome.trials == 4 and not outcome.errors and not outcome.interrupted
    fault.lost(rows_lost(str(sweep), ground_truth))
    curves = caviar.read_curves(str(sweep))
    assert len(curves) == 4 * 12
    assert fault.rows_lost == 0


def _part_with_two_row_groups(sweep: Path, rows: pa.Table) -> Path:
    """A curves part as a long flush writes it: several row groups (here two)."""
    path = sweep / CURVES_DIR / f"part-000900-{uuid.uuid4().hex[:8]}.parquet"
    pq.write_table(rows, path, row_group_size=rows.num_rows // 2, compression="zstd")
    return path


def _corrupt_second_row_group(path: Path) -> None:
    parquet = pq.ParquetFile(path)
    column = parquet.metadata.row_group(1).column(2)  # the first metric's column chunk
    start = column.data_page_offset
    data = bytearray(path.read_bytes())
    data[start : start + column.total_compressed_size] = b"\xff" * column.total_compressed_size
    path.write_bytes(bytes(data))


def test_a_damaged_part_is_skipped_by_readers_and_repair_keeps_what_reads(
    tmp_path: Path, fault: FaultRecord
) -> None:
    sweep = tmp_path / "sweep"
    callback = make_callback(sweep, flush_rows=40, flush_seconds=1e9)
    callback.setup()
    trials = make_trials(4)
    list(drive(callback, trials, range(1, 21)))  # 80 rows, two parts of 40
    callback.flush()
    store = SweepStore.at(str(sweep))
    whole = caviar.read_curves(str(sweep))
    assert len(whole) == 80 and len(store.curve_parts()) == 2
    # A third part of 40 more rows (other trials) in two row groups, then the damage.
    more = make_callback(tmp_path / "other", flush_rows=10**6, flush_seconds=1e9)
    more.setup()
    list(drive(more, make_trials(2, start=10), range(1, 21)))
    more.flush()
    extra = SweepStore.at(str(tmp_path / "other")).read_curves()
    damaged = _part_with_two_row_groups(sweep, extra)
    truncated_path = store.curve_parts()[0][1]
    truncated_rows = pq.read_table(truncated_path).num_rows
    with open(truncated_path, "r+b") as part:
        part.truncate(os.path.getsize(truncated_path) // 2)  # its footer is gone
    _corrupt_second_row_group(damaged)
    fault.inject(2)

    with pytest.warns(UserWarning, match="skipping unreadable Parquet file"):
        readable = caviar.read_curves(str(sweep))
    assert len(readable) == 80 - truncated_rows  # the good part; both damaged ones skipped

    main(["compact", "--repair", str(sweep)])  # returns normally: exit 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        repaired = caviar.read_curves(str(sweep))
    # Kept: the intact part, and the first row group of the corrupted one; lost: what the damage
    # destroyed (the truncated part, the corrupted row group), nothing else.
    assert len(repaired) == 80 - truncated_rows + extra.num_rows // 2
    assert len(list((sweep / "quarantine").iterdir())) == 2
    before = set(zip(readable["trial_id"], readable["iteration"], strict=True))
    after = set(zip(repaired["trial_id"], repaired["iteration"], strict=True))
    fault.lost(len(before - after))  # rows that were readable before the repair and are not now
    assert fault.rows_lost == 0
