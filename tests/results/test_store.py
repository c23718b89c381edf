"""The Parquet store without Ray: exactly once, few files, typed columns, crash-safe compaction."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import pandas as pd
import pytest
from ray.tune.experiment import Trial

import caviar
from caviar.errors import UnreadableResults
from caviar.results.store import CURVES_DIR, TRIALS_FILE, SweepStore
from tests.conftest import run_cli
from tests.results.synthetic import drive, make_callback, make_trials, result


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())


def test_2000_trials_x_20_reports_leave_a_handful_of_files(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    callback = make_callback(sweep, flush_rows=5_000, flush_seconds=1e9)
    callback.setup()
    trials = make_trials(2000)
    for _ in drive(callback, trials, range(1, 21)):
        pass
    for trial in trials:
        trial.status = Trial.TERMINATED
        callback.on_trial_complete(0, trials, trial)
    callback.on_experiment_end(trials)
    files = files_under(sweep)
    assert [p.name for p in files if p.suffix == ".parquet"][-1] == "trials.parquet"
    assert len(files) <= 3, files  # sweep.yaml, trials.parquet, one curves part
    curves = caviar.read_curves(str(sweep))
    assert len(curves) == 40_000
    assert not curves.duplicated(["trial_id", "iteration"]).any()
    trials_frame = caviar.read_trials(str(sweep))
    assert len(trials_frame) == 2000 and set(trials_frame["status"]) == {"TERMINATED"}
    assert str(trials_frame["units"].dtype) == "Int64"
    assert trials_frame["best_loss"].notna().all()


def test_a_finished_sweep_leaves_one_curves_part_whatever_its_flushes_were(tmp_path: Path) -> None:
    # Flushes of 5 rows and then 1: too unequal for a tier to merge while the sweep runs
    callback = make_callback(tmp_path / "s", flush_rows=5, flush_seconds=1e9)
    callback.setup()
    trials = make_trials(3)
    list(drive(callback, trials, range(1, 3)))
    callback.flush()
    store = SweepStore.at(str(tmp_path / "s"))
    assert len(store.curve_parts()) == 2
    for trial in trials:
        trial.status = Trial.TERMINATED
    callback.on_experiment_end(trials)
    assert len(store.curve_parts()) == 1
    assert len(caviar.read_curves(str(tmp_path / "s"))) == 6


def test_replayed_iterations_land_once_and_the_later_report_wins(tmp_path: Path) -> None:
    callback = make_callback(tmp_path / "s", flush_rows=3, flush_seconds=1e9)
    callback.setup()
    trials = make_trials(2)
    list(drive(callback, trials, range(1, 6)))
    for iteration in (4, 5):  # a restore from the checkpoint at 3 replays 4 and 5
        replay = result(trials[0], iteration)
        replay["loss"] = -1.0
        callback.on_trial_result(0, trials, trials[0], replay)
    callback.flush()
    assert len(SweepStore.at(str(tmp_path / "s")).curve_parts()) > 2
    curves = caviar.read_curves(str(tmp_path / "s"))
    assert len(curves) == 10
    row = curves[(curves.trial_id == trials[0].trial_id) & (curves.iteration == 4)]
    assert row["loss"].tolist() == [-1.0]


def test_a_callback_restored_from_tunes_pickle_continues_from_storage(tmp_path: Path) -> None:
    """Tune pickles callbacks when the sweep starts and restores that pickle on resume."""
    callback = make_callback(tmp_path / "s", flush_rows=1, flush_seconds=1e9)
    pickled = pickle.dumps(callback)  # what tuner.pkl holds
    callback.setup()
    first = make_trials(3)
    list(drive(callback, first, range(1, 4)))
    callback.on_trial_complete(0, first, first[2])
    callback.flush()
    # kill -9 here; `caviar resume` restores the pickle and calls setup()
    restored = pickle.loads(pickled)
    restored.setup()
    assert restored.writer._sequence == SweepStore.at(str(tmp_path / "s")).next_sequence()
    replay = result(first[0], 3)
    replay["loss"] = -5.0
    restored.on_trial_result(0, first, first[0], replay)
    for trial in first:
        trial.status = Trial.TERMINATED
    restored.on_experiment_end(first)
    trials = caviar.read_trials(str(tmp_path / "s"))
    assert sorted(trials["trial_id"]) == [t.trial_id for t in first]  # none forgotten
    curves = caviar.read_curves(str(tmp_path / "s"))
    assert len(curves) == 9
    assert curves.set_index(["trial_id", "iteration"]).loc[(first[0].trial_id, 3), "loss"] == -5.0
    assert len(list((tmp_path / "s" / CURVES_DIR).iterdir())) == 1


def test_trials_unknown_to_the_restored_experiment_are_dropped_at_the_end(tmp_path: Path) -> None:
    callback = make_callback(tmp_path / "s", flush_rows=1, flush_seconds=1e9)
    callback.setup()
    kept, phantom = make_trials(2), make_trials(1, start=50)
    list(drive(callback, kept + phantom, range(1, 3)))
    # resume: Tune's snapshot never saw `phantom`; its rerun has another id
    callback.setup()
    for trial in kept:
        trial.status = Trial.TERMINATED
    callback.on_experiment_end(kept)
    assert set(caviar.read_trials(str(tmp_path / "s"))["trial_id"]) == {t.trial_id for t in kept}
    assert set(caviar.read_curves(str(tmp_path / "s"))["trial_id"]) == {t.trial_id for t in kept}


def test_a_metric_that_changes_kind_keeps_one_column_type_across_parts(tmp_path: Path) -> None:
    callback = make_callback(tmp_path / "s", flush_rows=1, flush_seconds=1e9)
    callback.setup()
    trials = make_trials(1)
    callback.on_trial_start(0, trials, trials[0])
    for iteration, phase in [(1, None), (2, True), (3, 0.5), (4, "warmup")]:
        row = result(trials[0], iteration)
        if phase is not None:
            row["phase"] = phase
        callback.on_trial_result(0, trials, trials[0], row)
    callback.flush()
    curves = caviar.read_curves(str(tmp_path / "s"))
    assert curves["phase"].tolist()[1:] == ["true", "0.5", "warmup"]
    assert curves["phase"].iloc[0] is None or pd.isna(curves["phase"].iloc[0])


def test_a_reader_does_not_miss_rows_when_a_compaction_runs_under_it(tmp_path: Path) -> None:
    callback = make_callback(tmp_path / "s", flush_rows=2, flush_seconds=1e9)
    callback.setup()
    list(drive(callback, make_trials(2), range(1, 6)))
    callback.flush()

    class CompactedMidRead(SweepStore):
        compacted = False

        def _read_parquet(self, path, columns=None, filters=None):  # type: ignore[no-untyped-def]
            if not self.compacted:  # another process compacts after our listing
                self.compacted = True
                SweepStore.at(str(tmp_path / "s")).compact()
            return super()._read_parquet(path, columns, filters)

    store = CompactedMidRead(*SweepStore.at(str(tmp_path / "s")).__dict__.values())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = store.read_curves()
    assert store.compacted and table.num_rows == 10


def test_an_unreadable_part_is_skipped_with_a_warning_and_compaction_keeps_it(
    tmp_path: Path,
) -> None:
    callback = make_callback(tmp_path / "s", flush_rows=2, flush_seconds=1e9)
    callback.setup()
    list(drive(callback, make_trials(2), range(1, 4)))
    callback.flush()
    parts = sorted((tmp_path / "s" / CURVES_DIR).glob("part-*"))
    data = parts[0].read_bytes()
    parts[0].write_bytes(data[: len(data) // 2])  # truncated: a torn write by something else
    with pytest.warns(UserWarning, match="skipping unreadable Parquet file"):
        curves = caviar.read_curves(str(tmp_path / "s"))
    assert len(curves) == 4
    with pytest.warns(UserWarning):
        report = SweepStore.at(str(tmp_path / "s")).compact()
    assert report.skipped == [str(parts[0])] and parts[0].exists()


def test_readers_push_filters_down_and_keep_integer_types(tmp_path: Path) -> None:
    callback = make_callback(tmp_path / "root" / "a", flush_rows=100, flush_seconds=1e9)
    callback.setup()
    trials = make_trials(4)
    list(drive(callback, trials, range(1, 4)))
    callback.on_trial_complete(0, trials, trials[0])
    callback.flush()
    other = make_callback(tmp_path / "root" / "b")
    other.setup()
    list(drive(other, make_trials(1), range(1, 3)))
    other.flush()

    done = caviar.read_trials(str(tmp_path / "root" / "a"), status="TERMINATED", columns=["units"])
    assert list(done.columns) == ["trial_id", "units"] and len(done) == 1
    assert str(done["units"].dtype) == "Int64"
    some = caviar.read_curves(
        str(tmp_path / "root" / "a"), columns=["loss"], trial_ids=[trials[1].trial_id]
    )
    assert list(some.columns) == ["trial_id", "iteration", "loss"]
    assert some["iteration"].tolist() == [1, 2, 3]
    arrow = caviar.read_curves(str(tmp_path / "root" / "a"), dtype_backend="pyarrow")
    assert str(arrow["iteration"].dtype) == "int64[pyarrow]"
    nullable = caviar.read_trials(str(tmp_path / "root" / "a"), dtype_backend="numpy_nullable")
    assert str(nullable["best_loss"].dtype) == "Float64"
    with pytest.raises(ValueError, match="dtype_backend"):
        caviar.read_trials(str(tmp_path / "root" / "a"), dtype_backend="numpy")  # type: ignore[arg-type]

    both = caviar.read_curves(str(tmp_path / "root"))
    assert both.groupby("sweep").size().to_dict() == {"a": 12, "b": 2}
    listed = caviar.read_trials([str(tmp_path / "root" / "a"), str(tmp_path / "root" / "b")])
    assert listed["sweep"].value_counts().to_dict() == {"a": 4, "b": 1}


def test_a_long_sweep_merges_its_parts_while_it_runs(tmp_path: Path) -> None:
    callback = make_callback(tmp_path / "s", flush_rows=1, flush_seconds=1e9, compact_parts=4)
    callback.setup()
    list(drive(callback, make_trials(2), range(1, 11)))  # 20 flushes
    parts = SweepStore.at(str(tmp_path / "s")).curve_parts()
    assert 1 <= len(parts) <= 4 + 5  # the last 4 flushes, plus tiers of 16, 8, 4, 2, 1 rows
    assert len(caviar.read_curves(str(tmp_path / "s"))) == 20


def test_trials_an_interrupt_cut_short_stay_running_for_the_resume(tmp_path: Path) -> None:
    """Ctrl-C: Tune's cleanup marks the running trials TERMINATED without completing them."""
    callback = make_callback(tmp_path / "s", flush_rows=1, flush_seconds=1e9)
    callback.setup()
    trials = make_trials(2)
    list(drive(callback, trials, range(1, 3)))
    callback.on_trial_complete(0, trials, trials[0])
    for trial in trials:
        trial.status = Trial.TERMINATED  # what Tune's cleanup leaves after an interrupt
    callback.on_experiment_end(trials)
    statuses = caviar.read_trials(str(tmp_path / "s")).set_index("trial_id")["status"]
    assert statuses.to_dict() == {trials[0].trial_id: "TERMINATED", trials[1].trial_id: "RUNNING"}


def test_readers_refuse_a_newer_schema_version_with_a_clear_message(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    callback = make_callback(tmp_path / "s", flush_rows=1, flush_seconds=1e9)
    callback.setup()
    list(drive(callback, make_trials(1), range(1, 3)))
    callback.flush()
    ((_, part), *_) = SweepStore.at(str(tmp_path / "s")).curve_parts()
    table = pq.read_table(part)
    metadata = {**(table.schema.metadata or {}), b"caviar.schema_version": b"99"}
    pq.write_table(table.replace_schema_metadata(metadata), part)
    with pytest.raises(UnreadableResults, match=r"results schema version 99, this caviar reads up"):
        caviar.read_curves(str(tmp_path / "s"))
    trials = SweepStore.at(str(tmp_path / "s")).path(TRIALS_FILE)
    pq.write_table(pq.read_table(trials).replace_schema_metadata(metadata), trials)
    for command in (("show", str(tmp_path / "s")), ("ls", str(tmp_path))):
        done = run_cli(*command)
        assert done.returncode == 1, done.stderr  # unreadable results, not bad input
        assert done.stderr.count("\n") == 1 and "schema version 99" in done.stderr, done.stderr
