"""A trial that restarts from an earlier iteration supersedes its stored rows from there on.

Exactly-once is decided against the rows in the store: after a restart from scratch (a crash with no
checkpoint), a retry from an older checkpoint or a resume by a fresh driver, a trial's curve is what
its last run reported, contiguous from 1, each iteration once, with best and last values recomputed.
Driven through the real callback without Ray (tests/results/synthetic.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
from ray.tune.experiment import Trial

import caviar
from caviar.results.store import SUPERSEDED
from caviar.tune.callbacks_results import ParquetResultsCallback
from tests.results.synthetic import make_callback, make_trials, result


def report(
    callback: ParquetResultsCallback, trial: Trial, iterations: range, offset: float = 0.0
) -> None:
    for iteration in iterations:
        row: dict[str, Any] = result(trial, iteration)
        row["loss"] += offset
        row["attempt"] = offset
        callback.on_trial_result(0, [trial], trial, row)


def finish(callback: ParquetResultsCallback, trials: list[Trial]) -> None:
    for trial in trials:
        trial.set_status(Trial.TERMINATED)
        callback.on_trial_complete(0, trials, trial)
    callback.on_experiment_end(trials)


def first_run_flushed(
    sweep: Path, other_reports: int
) -> tuple[ParquetResultsCallback, Trial, Trial]:
    """Two trials on a fresh callback: ``trial`` reported 6 iterations and ``other``
    ``other_reports``, all flushed to one part."""
    callback = make_callback(sweep)
    callback.setup()
    trial, other = make_trials(2)
    callback.on_trial_start(0, [trial, other], trial)
    report(callback, trial, range(1, 7))
    report(callback, other, range(1, other_reports + 1))
    callback.flush()
    return callback, trial, other


def raw_keys(sweep: Path) -> list[tuple[str, int]]:
    return duckdb.sql(
        f"select trial_id, iteration from read_parquet('{sweep}/curves/*.parquet') order by all"
    ).fetchall()


def test_a_restart_from_scratch_that_stops_earlier_leaves_only_its_own_rows(
    tmp_path: Path,
) -> None:
    sweep = tmp_path / "sweep"
    callback, trial, other = first_run_flushed(sweep, other_reports=3)  # first run: 6 iterations
    report(callback, trial, range(1, 4), offset=10.0)  # restarted from scratch, stopped at 3
    callback.flush()
    mid = caviar.read_curves(str(sweep))  # before any compaction: tombstones already hidden
    finish(callback, [trial, other])

    curves = caviar.read_curves(str(sweep))
    mine = curves[curves["trial_id"] == trial.trial_id].sort_values("iteration")
    assert mine["iteration"].tolist() == [1, 2, 3]
    assert mine["attempt"].tolist() == [10.0] * 3
    assert SUPERSEDED not in curves.columns and SUPERSEDED not in mid.columns
    assert len(mid) == 3 + 3  # only what a reader should see, even mid-sweep
    assert raw_keys(sweep) == sorted(
        [(trial.trial_id, i) for i in range(1, 4)] + [(other.trial_id, i) for i in range(1, 4)]
    )
    row = caviar.read_trials(str(sweep)).set_index("trial_id").loc[trial.trial_id]
    assert row["iterations"] == 3
    assert row["best_loss"] == mine["loss"].min()
    assert row["attempt"] == 10.0


def test_a_retry_from_an_older_checkpoint_keeps_the_rows_before_it(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    callback = make_callback(sweep)
    callback.setup()
    (trial,) = make_trials(1)
    callback.on_trial_start(0, [trial], trial)
    report(callback, trial, range(1, 6), offset=-5.0)  # rows 3..5 have the best loss
    callback.flush()
    report(callback, trial, range(3, 5), offset=1.0)  # restored from the checkpoint at 2
    finish(callback, [trial])

    curves = caviar.read_curves(str(sweep)).sort_values("iteration")
    assert curves["iteration"].tolist() == [1, 2, 3, 4]
    assert curves["attempt"].tolist() == [-5.0, -5.0, 1.0, 1.0]
    row = caviar.read_trials(str(sweep)).iloc[0]
    assert row["best_loss"] == curves["loss"].min()  # not the superseded rows' best
    assert row["iterations"] == 4
    assert len(pq.read_table(next((sweep / "curves").glob("part-*.parquet")))) == 4


def test_a_fresh_driver_supersedes_rows_written_by_the_one_before(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    first = make_callback(sweep)
    first.setup()
    (trial,) = make_trials(1)
    first.on_trial_start(0, [trial], trial)
    report(first, trial, range(1, 9))
    first.flush()  # then the driver is killed: nothing else of it survives

    resumed = make_callback(sweep)  # a resume: a fresh callback that knows only the store
    resumed.setup()
    resumed.on_trial_start(0, [trial], trial)
    report(resumed, trial, range(1, 6), offset=1.0)  # no checkpoint: from scratch, 5 this time
    finish(resumed, [trial])

    curves = caviar.read_curves(str(sweep)).sort_values("iteration")
    assert curves["iteration"].tolist() == [1, 2, 3, 4, 5]
    assert set(curves["attempt"]) == {1.0}
    assert raw_keys(sweep) == [(trial.trial_id, i) for i in range(1, 6)]
    assert caviar.read_trials(str(sweep)).iloc[0]["iterations"] == 5


def test_a_row_reported_again_after_a_big_part_is_stored_once_in_the_files(
    tmp_path: Path,
) -> None:
    # The first part is much bigger than the second, so tiered compaction never merges the two:
    # the end of the sweep must still rewrite the older part without the replaced rows.
    sweep = tmp_path / "sweep"
    callback, trial, other = first_run_flushed(sweep, other_reports=40)
    report(callback, trial, range(4, 5), offset=10.0)  # paused after 4, restored at 3 (PBT)
    callback.flush()
    report(callback, trial, range(5, 7), offset=10.0)
    finish(callback, [trial, other])

    keys = raw_keys(sweep)
    assert len(keys) == len(set(keys)) == 6 + 40
    raw = duckdb.sql(
        f"select iteration, attempt from read_parquet('{sweep}/curves/*.parquet', "
        f"union_by_name=true) where trial_id = '{trial.trial_id}' order by iteration"
    ).fetchall()
    assert raw == [(1, 0.0), (2, 0.0), (3, 0.0), (4, 10.0), (5, 10.0), (6, 10.0)]
    assert all(SUPERSEDED not in pq.read_schema(p).names for p in (sweep / "curves").iterdir())
