"""`caviar compact`, `caviar ls`, `caviar show`, and the checks `caviar run` makes before Ray starts."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

import caviar
from caviar.errors import SpecError
from caviar.results.store import CURVES_DIR, LIVE_TEMPORARY_S, QUARANTINE_DIR
from caviar.spec.parse import parse_spec
from tests.conftest import run_cli
from tests.results.synthetic import drive, make_callback, make_trials


def synthetic_sweep(path: Path, trials: int = 3, iterations: int = 4, flush_rows: int = 2) -> None:
    callback = make_callback(path, flush_rows=flush_rows, flush_seconds=1e9)
    callback.setup()
    made = make_trials(trials)
    list(drive(callback, made, range(1, iterations + 1)))
    callback.on_trial_complete(0, made, made[0])
    callback.flush()


def test_compact_merges_parts_and_repair_keeps_what_reads(tmp_path: Path) -> None:
    sweep = tmp_path / "s"
    synthetic_sweep(sweep, trials=3, iterations=4)
    curves = sweep / CURVES_DIR
    parts = sorted(curves.glob("part-*.parquet"))
    assert len(parts) == 6
    # A part with two row groups whose second is damaged, and a truncated one (footer gone).
    table = pq.read_table(parts[1])
    pq.write_table(table, parts[1], row_group_size=1, compression="none")
    damaged = bytearray(parts[1].read_bytes())
    meta = pq.ParquetFile(parts[1]).metadata.row_group(1).column(2)
    start = meta.data_page_offset
    damaged[start : start + 12] = b"\xff" * 12
    parts[1].write_bytes(bytes(damaged))
    parts[2].write_bytes(parts[2].read_bytes()[:40])
    left = curves / ".part-000009-deadbeef.parquet.0123abcd.tmp"
    left.write_bytes(b"half a write")
    os.utime(left, (time.time() - 3 * LIVE_TEMPORARY_S,) * 2)  # left by a writer long gone
    live = curves / ".part-000010-feedbeef.parquet.4567abcd.tmp"
    live.write_bytes(b"a write in progress")

    with pytest.warns(UserWarning, match="skipping unreadable"):
        before = caviar.read_curves(str(sweep))
    assert len(before) == 12 - 4  # the two damaged parts are skipped whole

    plain = run_cli("compact", str(sweep))
    assert plain.returncode == 1
    assert "unreadable part left in place" in plain.stderr and "--repair" in plain.stderr
    assert parts[1].exists() and parts[2].exists()  # left, and no merge crossed them

    repaired = run_cli("compact", str(sweep), "--repair")
    assert repaired.returncode == 0, repaired.stderr
    assert "repaired" in repaired.stdout and "1 leftover temporary files removed" in repaired.stdout
    assert sorted(p.name for p in curves.iterdir()) == sorted(
        [next(curves.glob("part-*")).name, live.name]  # a live writer's temporary is kept
    )
    assert sorted(p.name for p in (sweep / QUARANTINE_DIR).iterdir()) == sorted(
        [parts[1].name, parts[2].name]
    )
    after = caviar.read_curves(str(sweep))
    assert len(after) == len(before) + 1  # the readable row group of the damaged part is back
    assert not after.duplicated(["trial_id", "iteration"]).any()


def test_compact_of_a_missing_sweep_exits_2(tmp_path: Path) -> None:
    result = run_cli("compact", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("caviar: error: SWEEP_DIR: no caviar sweep at")


def test_ls_lists_sweeps_with_counts_best_and_start_and_show_prints_spec_and_top(
    tmp_path: Path,
) -> None:
    synthetic_sweep(tmp_path / "root" / "alpha", trials=3, iterations=2)
    synthetic_sweep(tmp_path / "root" / "beta", trials=2, iterations=3)
    listed = run_cli("ls", str(tmp_path / "root"))
    assert listed.returncode == 0, listed.stderr
    lines = {
        line.split()[1]: line
        for line in listed.stdout.splitlines()
        if "│ alpha" in line or "│ beta" in line
    }
    trials = caviar.read_trials(str(tmp_path / "root" / "alpha"))
    best = trials["best_loss"].min()
    assert "2 running, 1 terminated" in lines["alpha"] and f"loss {best:.4g}" in lines["alpha"]
    assert "1 running, 1 terminated" in lines["beta"]
    started = str(trials["started_at"].min())[:10]
    assert started in lines["alpha"]

    shown = run_cli("show", str(tmp_path / "root" / "alpha"), "--top", "2")
    assert shown.returncode == 0, shown.stderr
    assert "metric: loss" in shown.stdout and "best 2 of 3 trials by loss (min)" in shown.stdout
    ranked = trials.sort_values("best_loss")["trial_id"].tolist()
    assert shown.stdout.index(ranked[0]) < shown.stdout.index(ranked[1])
    assert ranked[2] not in shown.stdout

    empty = run_cli("ls", str(tmp_path / "nothing"))
    assert empty.returncode == 2 and "no caviar sweep" in empty.stderr


def write_spec(tmp_path: Path, **changes: object) -> Path:
    spec = {
        "name": "checked",
        "trainable": "tests.results.killable:train",
        "metric": "score",
        "mode": "max",
        "space": {"x": "uniform(0, 1)", "epochs": 2},
        "search": {"num_samples": 1},
        "storage": str(tmp_path / "results"),
        **changes,
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_an_unwritable_storage_exits_2_before_ray_starts(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    result = run_cli("run", str(write_spec(tmp_path, storage=str(tmp_path / "a-file" / "r"))))
    assert result.returncode == 2
    assert result.stderr.strip() == f"caviar: error: storage: cannot write to {tmp_path / 'a-file'}"
    assert "Traceback" not in result.stderr


def test_an_existing_sweep_with_another_spec_exits_2_naming_what_differs(tmp_path: Path) -> None:
    sweep = tmp_path / "results" / "checked"
    sweep.mkdir(parents=True)
    spec = yaml.safe_load(write_spec(tmp_path).read_text())
    (sweep / "sweep.yaml").write_text(yaml.safe_dump({**spec, "search": {"num_samples": 9}}))
    result = run_cli("run", str(write_spec(tmp_path)))
    assert result.returncode == 2
    assert "already exists" in result.stderr and "(search differ)" in result.stderr
    assert sorted(p.name for p in sweep.iterdir()) == ["sweep.yaml"]  # nothing written, no Ray

    (sweep / "sweep.yaml").write_text(yaml.safe_dump(spec))
    same = run_cli("run", str(write_spec(tmp_path)))
    assert same.returncode == 2 and f"caviar resume {sweep}" in same.stderr


@pytest.mark.parametrize(
    ("loggers", "fragment"),
    [
        (["tensorboard", "neptune"], "loggers[1]: must be one of tensorboard, mlflow, wandb"),
        (["tensorboard", "tensorboard"], "loggers[1]: 'tensorboard' is listed twice"),
        (["wandb"], "loggers[0]: wandb needs the 'wandb' package, which is not installed"),
    ],
)
def test_bad_loggers_are_rejected_naming_the_key(
    tmp_path: Path, loggers: list[str], fragment: str
) -> None:
    raw = yaml.safe_load(write_spec(tmp_path, loggers=loggers).read_text())
    with pytest.raises(SpecError) as error:
        parse_spec(raw)
    assert fragment in str(error.value)


def test_loggers_parse_in_order_and_are_off_by_default(tmp_path: Path) -> None:
    raw = yaml.safe_load(write_spec(tmp_path).read_text())
    assert parse_spec(raw).loggers == ()
    assert parse_spec({**raw, "loggers": ["tensorboard"]}).loggers == ("tensorboard",)
