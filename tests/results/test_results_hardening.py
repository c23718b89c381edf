"""Results that compaction races, a damaged trials.parquet or a busy sweep could corrupt or slow.

Each test is one finding of the hardening audit (issue 23); each failed on the code before it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from ray.tune.experiment import Trial

import caviar
from caviar.results.store import (
    CURVES_DIR,
    QUARANTINE_DIR,
    TRIALS_FILE,
    TUNE_DIR,
    SweepStore,
    join_uri,
)
from caviar.results.writer import ResultsWriter
from caviar.search_spaces import Space
from caviar.spec.parse import parse_spec
from caviar.trainables.bundle import MEMBERS_KEY, member_key
from caviar.tune.callbacks_results import FusedResultsCallback
from tests.results.synthetic import SPACE, drive, make_callback, make_trials, result


def new_store(sweep: Path) -> SweepStore:
    store = SweepStore.at(str(sweep))
    store.write_text("sweep.yaml", "name: s\n")
    return store


def part_with(store: SweepStore, sequence: int, loss: float, trial: str = "t0") -> None:
    table = pa.table(
        {
            "trial_id": pa.array([trial], pa.string()),
            "iteration": pa.array([1], pa.int64()),
            "loss": [loss],
        }
    )
    store.append_curves(table, sequence)


def loss_of(sweep: Path, trial: str = "t0") -> float:
    curves = caviar.read_curves(str(sweep))
    return float(curves.set_index("trial_id").loc[trial, "loss"])


class Flaky(SweepStore):
    """A store on which reading one part fails once (a transient error: it reads again later)."""

    flaky: str = ""

    def _read_parquet(self, path, columns=None, filters=None):  # type: ignore[no-untyped-def]
        if path == self.flaky:
            self.flaky = ""
            warnings.warn(f"skipping unreadable Parquet file {path}: flaky", stacklevel=2)
            return None
        return super()._read_parquet(path, columns, filters)


def test_a_merge_never_puts_an_older_row_above_a_part_it_could_not_read(tmp_path: Path) -> None:
    """The merged part took the newest sequence number, so the old row beat the skipped new one."""
    store = new_store(tmp_path / "s")
    part_with(store, 0, loss=9.0)  # stale
    part_with(store, 1, loss=1.0)  # the newest value of (t0, 1)
    part_with(store, 2, loss=5.0, trial="t1")
    part_with(store, 3, loss=6.0, trial="t2")
    flaky = Flaky(store.filesystem, store.root)
    newest = flaky.flaky = store.curve_parts()[1][1]
    with pytest.warns(UserWarning):
        report = flaky.compact()
    assert report.skipped == [newest]
    assert loss_of(tmp_path / "s") == 1.0  # read again (the error was transient): still newest
    assert store.compact().merged >= 2
    assert loss_of(tmp_path / "s") == 1.0 and len(store.curve_parts()) == 1


def test_two_compactions_at_once_neither_fails_nor_loses_the_newest_row(tmp_path: Path) -> None:
    """The callback's own compaction vs `caviar compact`: the second's delete raised
    FileNotFoundError (a failed sweep), or a part vanishing under it was merged around."""
    sweep = tmp_path / "s"
    store = new_store(sweep)
    for sequence in range(6):
        part_with(store, sequence, loss=10.0 - sequence)

    class Interleaved(SweepStore):
        """Another compaction runs to its end after this one has read, and before it writes."""

        other_ran = False

        def append_curves(self, table: pa.Table, sequence: int) -> str:
            if not self.other_ran:
                self.other_ran = True
                SweepStore.at(str(sweep)).compact()
            return super().append_curves(table, sequence)

    first = Interleaved(store.filesystem, store.root)
    first.compact()  # used to raise FileNotFoundError deleting what the other had deleted
    assert first.other_ran
    assert loss_of(sweep) == 5.0

    for sequence in range(6, 12):
        part_with(store, sequence, loss=10.0 - sequence)

    class VanishingUnder(SweepStore):
        """Another compaction takes the parts after this one read the first."""

        reads = 0

        def _read_parquet(self, path, columns=None, filters=None):  # type: ignore[no-untyped-def]
            self.reads += 1
            if self.reads == 2:
                SweepStore.at(str(sweep)).compact()
            return super()._read_parquet(path, columns, filters)

    VanishingUnder(store.filesystem, store.root).compact()
    assert loss_of(sweep) == -1.0
    assert not caviar.read_curves(str(sweep)).duplicated(["trial_id", "iteration"]).any()


def test_compaction_is_tiered_each_row_is_rewritten_a_bounded_number_of_times(
    tmp_path: Path,
) -> None:
    """Every 32 flushes compaction reread and rewrote every row: quadratic in a long sweep."""
    written: list[int] = []

    class Counting(SweepStore):
        def append_curves(self, table: pa.Table, sequence: int) -> str:
            written.append(table.num_rows)
            return super().append_curves(table, sequence)

    callback = make_callback(tmp_path / "s", flush_rows=4, flush_seconds=1e9, compact_parts=8)
    callback.writer.store = Counting(callback.store.filesystem, callback.store.root)
    callback.setup()
    list(drive(callback, make_trials(4), range(1, 257)))  # 256 flushes of 4 rows
    callback.flush()
    rows = 4 * 256
    assert sum(written) <= rows * 10  # about log2(1024 / 4) rewrites a row; it was ~36 a row
    parts = callback.store.curve_parts()
    assert len(parts) <= 8 + 10
    assert len(caviar.read_curves(str(tmp_path / "s"))) == rows


def test_end_of_sweep_cleanup_rewrites_only_the_parts_with_other_trials(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s")
    part_with(store, 0, loss=1.0, trial="kept")
    part_with(store, 1, loss=2.0, trial="kept2")
    part_with(store, 2, loss=3.0, trial="lost")  # started after the last snapshot
    before = [path for _, path in store.curve_parts()]
    store.compact(keep_trials={"kept", "kept2"})
    curves = caviar.read_curves(str(tmp_path / "s"))
    assert sorted(curves["trial_id"]) == ["kept", "kept2"]
    assert before[2] not in [path for _, path in store.curve_parts()]


def test_trial_errors_are_batched_not_a_trials_rewrite_each(tmp_path: Path) -> None:
    """1,000 failing trials rewrote trials.parquet 1,000 times (12 minutes at 10,000)."""
    writes: list[int] = []

    class Counting(SweepStore):
        def write_trials(self, table: pa.Table) -> None:
            writes.append(table.num_rows)
            super().write_trials(table)

    callback = make_callback(tmp_path / "s", flush_rows=10_000, flush_seconds=3600)
    callback.writer.store = Counting(callback.store.filesystem, callback.store.root)
    callback.setup()
    trials = make_trials(200)
    for trial in trials:
        callback.on_trial_start(0, trials, trial)
        callback.on_trial_result(0, trials, trial, result(trial, 1))
        trial.status = Trial.ERROR
        callback.on_trial_error(0, trials, trial)
    assert len(writes) <= 1
    callback.get_state()  # Tune saves its snapshot: every error is on storage first
    stored = caviar.read_trials(str(tmp_path / "s"))
    assert (stored["status"] == "ERROR").sum() == 200
    callback.writer.policy.seconds = 0.0
    callback.on_trial_start(0, trials, trials[0])
    callback.on_step_end(0, trials)  # a quiet spell: flushed on time all the same
    assert caviar.read_trials(str(tmp_path / "s")).set_index("trial_id").loc["t000000"][
        "status"
    ] == ("RUNNING")


def test_the_end_of_sweep_pass_looks_at_each_trial_once(tmp_path: Path) -> None:
    """It recomputed the set of interrupted trials for every trial: quadratic in trials."""
    callback = make_callback(tmp_path / "s", flush_rows=10_000, flush_seconds=1e9)
    callback.setup()
    trials = make_trials(300)
    list(drive(callback, trials, range(1, 2)))
    calls = 0
    original = callback.writer.cut_short

    def counted() -> set[str]:
        nonlocal calls
        calls += 1
        return original()

    callback.writer.cut_short = counted  # type: ignore[method-assign]
    for trial in trials:
        trial.status = Trial.TERMINATED
        callback.on_trial_complete(0, trials, trial)
    callback.on_experiment_end(trials)
    assert calls <= 2
    assert len(caviar.read_trials(str(tmp_path / "s"))) == 300


def test_a_damaged_trials_table_is_quarantined_and_rebuilt_from_the_curves(
    tmp_path: Path,
) -> None:
    """It was skipped on resume and rewritten empty: best, iterations, metrics of every trial lost."""
    sweep = tmp_path / "s"
    callback = make_callback(sweep, flush_rows=3, flush_seconds=1e9)
    callback.setup()
    trials = make_trials(3)
    list(drive(callback, trials, range(1, 5)))
    for trial in trials:
        trial.status = Trial.TERMINATED
        callback.on_trial_complete(0, trials, trial)
    callback.flush()
    good = caviar.read_trials(str(sweep)).set_index("trial_id").sort_index()
    data = (sweep / TRIALS_FILE).read_bytes()
    (sweep / TRIALS_FILE).write_bytes(data[: len(data) // 3])  # a copy cut short

    resumed = make_callback(sweep, flush_rows=3, flush_seconds=1e9)
    with pytest.warns(UserWarning, match="unreadable"):
        resumed.setup()  # what a resume does first
    assert [p.name for p in (sweep / QUARANTINE_DIR).iterdir()] == [TRIALS_FILE]
    resumed.on_experiment_end(trials)  # Tune's record of the restored trials
    rebuilt = caviar.read_trials(str(sweep)).set_index("trial_id").sort_index()
    columns = ["status", "iterations", "best_loss", "loss", "accuracy", "lr", "units", "opt"]
    assert rebuilt[columns].equals(good[columns])


def test_a_storage_uri_with_a_query_keeps_the_sweep_name_in_the_path() -> None:
    spec = parse_spec(
        {
            "name": "demo",
            "trainable": "tests.results.killable:train",
            "metric": "loss",
            "space": SPACE,
            "storage": "s3://bucket/prefix?region=eu-west-1",
        }
    )
    assert spec.sweep_uri == "s3://bucket/prefix/demo?region=eu-west-1"
    assert SweepStore.at(spec.sweep_uri).root == "bucket/prefix/demo"  # was bucket/prefix
    assert join_uri("results", "a", "b") == "results/a/b"


def test_fused_sweeps_prune_the_checkpoints_of_their_bundles(tmp_path: Path) -> None:
    """The pruner was given member ids while the directories are named by bundle: none pruned."""
    sweep = tmp_path / "s"
    base = make_callback(sweep)
    callback = FusedResultsCallback(
        ResultsWriter(base.store, Space.from_dict(SPACE), "loss", "min", "name: s\n", "0.0.0")
    )
    configs = [dict(t.config) for t in make_trials(2)]
    bundles = [
        Trial("fused", config={MEMBERS_KEY: configs}, trial_id=f"b{i}", stub=True) for i in range(3)
    ]
    for bundle in bundles:
        for step in range(3):
            (sweep / TUNE_DIR / bundle.trial_id / f"checkpoint_{step:06d}").mkdir(parents=True)
    callback.setup()
    for bundle in bundles:
        callback.on_trial_start(0, bundles, bundle)
        for step in (1, 2, 3):
            report: dict[str, Any] = {"training_iteration": step, "time_total_s": 0.1 * step}
            for k in range(2):
                report[member_key(k, "loss")] = 1.0 / step + k
            callback.on_trial_result(0, bundles, bundle, report)
    for bundle in bundles[:2]:  # the third is cut short by an interrupt: kept for its resume
        bundle.status = Trial.TERMINATED
        callback.on_trial_complete(0, bundles, bundle)
    bundles[2].status = Trial.TERMINATED
    callback.on_experiment_end(bundles)
    left = sorted(
        p.relative_to(sweep / TUNE_DIR).as_posix() for p in (sweep / TUNE_DIR).glob("*/*")
    )
    assert left == [
        "b0/checkpoint_000002",
        "b1/checkpoint_000002",
        "b2/checkpoint_000000",
        "b2/checkpoint_000001",
        "b2/checkpoint_000002",
    ]
    assert len(caviar.read_trials(str(sweep))) == 6
    assert (sweep / CURVES_DIR).is_dir()
