"""The results writer and its pieces without Ray: plain trial ids, configs and Reported results."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import caviar
from caviar.errors import UnreadableResults
from caviar.objective import Objective
from caviar.results.flush import FlushPolicy
from caviar.results.reported import Reported, parse_result, report_time
from caviar.results.schema import (
    CURVE_COLUMNS,
    SCHEMA_VERSION,
    VERSION_KEY,
    best_column,
    check_schema_version,
    trial_columns,
)
from caviar.results.status import ERROR, RUNNING, STOPPED, TERMINATED, TrialRecord
from caviar.results.store import CURVES_DIR, SweepStore
from caviar.results.tables import TIMESTAMP
from caviar.results.tracebacks import NO_ERROR_TEXT, error_line
from caviar.results.writer import KnownTrial, ResultsWriter
from caviar.search_spaces import Space

SPACE = {"lr": "loguniform(1e-4, 1)"}
SPEC = "name: w\nmetric: loss\nmode: min\nspace:\n  lr: loguniform(1e-4, 1)\n"
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def new_writer(sweep: Path, **options: object) -> ResultsWriter:
    store = SweepStore.at(str(sweep))
    store.write_text("sweep.yaml", SPEC)
    writer = ResultsWriter(store, Space.from_dict(SPACE), "loss", "min", SPEC, "0", **options)  # type: ignore[arg-type]
    writer.load()
    return writer


def reported(iteration: int, loss: float, at: datetime = T0, done: bool = False) -> Reported:
    return Reported(
        iteration, {"loss": loss}, 0.5 * iteration, at + timedelta(seconds=iteration), done
    )


def test_each_curves_row_carries_the_time_the_trial_reported_it(tmp_path: Path) -> None:
    writer = new_writer(tmp_path / "s", flush_seconds=1e9)
    writer.start("t0", {"lr": 0.1})
    for step in (1, 2, 3):
        writer.report("t0", {"lr": 0.1}, reported(step, 1.0 / step))
    writer.end([KnownTrial("t0", {"lr": 0.1}, TERMINATED)])
    curves = caviar.read_curves(str(tmp_path / "s"))
    assert str(curves["timestamp"].dtype) == "datetime64[us, UTC]"
    # the reported result's own time (long before this test ran), not when the row was written
    assert [t.to_pydatetime() for t in curves["timestamp"]] == [
        T0 + timedelta(seconds=s) for s in (1, 2, 3)
    ]
    ((_, part),) = writer.store.curve_parts()
    schema = pq.read_schema(part)
    assert schema.field("timestamp").type == TIMESTAMP
    assert schema.names[: len(CURVE_COLUMNS)] == list(CURVE_COLUMNS)
    assert schema.metadata[VERSION_KEY] == str(SCHEMA_VERSION).encode()


def test_rays_whole_second_timestamp_reads_as_utc() -> None:
    parsed = parse_result({"training_iteration": 2, "loss": 0.5, "timestamp": 1767322800})
    assert parsed.timestamp == datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
    assert parsed.metrics == {"loss": 0.5} and parsed.iteration == 2
    before = datetime.now(UTC)
    assert report_time(None) >= before  # a hand-made result without one: the time it is read


def test_a_version_1_store_reads_with_timestamps_null_and_merges(tmp_path: Path) -> None:
    """Parts written before schema 2 have no timestamp column: they stay readable and compact."""
    store = SweepStore.at(str(tmp_path / "s"))
    store.write_text("sweep.yaml", SPEC)
    old = pa.table(
        {"trial_id": ["t0"], "iteration": pa.array([1], pa.int64()), "loss": [1.0]},
        metadata={VERSION_KEY: b"1"},
    )
    (tmp_path / "s" / CURVES_DIR).mkdir()
    pq.write_table(old, tmp_path / "s" / CURVES_DIR / "part-000000-aaaaaaaa.parquet")
    writer = new_writer(tmp_path / "s", flush_seconds=1e9)
    writer.report("t0", {"lr": 0.1}, reported(2, 0.5))
    writer.end([KnownTrial("t0", {"lr": 0.1}, TERMINATED)])  # compacts the two parts into one
    assert len(store.curve_parts()) == 1
    curves = caviar.read_curves(str(tmp_path / "s"))
    assert curves["iteration"].tolist() == [1, 2]
    assert curves["timestamp"].isna().tolist() == [True, False]
    trials = caviar.read_trials(str(tmp_path / "s"))
    assert trials["best_loss"].tolist() == [0.5] and "timestamp" not in trials.columns


def test_a_newer_schema_is_unreadable_results_not_bad_input() -> None:
    schema = pa.schema([pa.field("x", pa.int64())], metadata={VERSION_KEY: b"99"})
    with pytest.raises(UnreadableResults, match="schema version 99, this caviar reads up to 2"):
        check_schema_version(schema, "s/trials.parquet")
    assert not isinstance(UnreadableResults("x"), ValueError)  # not a SpecError (exit 2)
    check_schema_version(pa.schema([], metadata={VERSION_KEY: b"1"}), "old")  # older: fine


def test_status_follows_the_trials_events() -> None:
    objective = Objective("acc", "max")
    record = TrialRecord("t", {"lr": 0.1})
    record.start(T0)
    for step, acc in ((1, 0.5), (2, 0.7), (3, 0.6)):
        record.report({"lr": 0.1}, Reported(step, {"acc": acc}), objective, max_t=10)
    assert (record.status, record.best, record.metrics["acc"], record.iterations) == (
        RUNNING,
        0.7,
        0.6,
        3,
    )
    record.report({"lr": 0.1}, Reported(4, {"acc": 0.1}, done=True), objective, max_t=10)
    assert record.stopped_early  # the scheduler stopped it before max_t
    record.complete(None, False, T0)
    assert record.status == TERMINATED
    limited = TrialRecord("u", {})
    limited.complete("trial_time_limit_s: stopped after 5 s", False, T0)
    assert (limited.status, limited.error) == (ERROR, "trial_time_limit_s: stopped after 5 s")
    asked = TrialRecord("v", {})
    asked.complete(None, True, T0)
    assert (asked.status, asked.stopped_early) == (STOPPED, True)
    asked.settle(TERMINATED)
    assert asked.status == STOPPED  # the tuner's TERMINATED does not undo a person's stop
    failed = TrialRecord("w", {})
    failed.fail("ValueError: boom", T0)
    assert failed.status == ERROR
    diverged = TrialRecord("x", {})
    diverged.report({}, Reported(1, {"acc": float("nan")}), objective, None)
    assert diverged.stopped_early and diverged.metrics["diverged"] and diverged.best is None


def test_a_trial_row_round_trips_through_the_stored_table() -> None:
    record = TrialRecord("t", {"lr": 0.1})
    record.report({"lr": 0.1}, Reported(2, {"loss": 0.3, "acc": 0.9}), Objective("loss"), None)
    again = TrialRecord.from_row(record.row("loss"), ["lr"], "loss")
    assert again.row("loss") == record.row("loss")


def test_the_trials_columns_come_in_one_order() -> None:
    fixed = trial_columns("loss", {"lr": pa.float64()}, frozenset({"round"}), pareto=True)
    assert list(fixed) == [
        "trial_id",
        "status",
        "lr",
        "seed",
        "round",
        best_column("loss"),
        "iterations",
        "stopped_early",
        "error",
        "node_ip",
        "node_id",
        "started_at",
        "ended_at",
        "pareto",
    ]


def test_the_flush_policy_flushes_full_or_old_buffers() -> None:
    now = [0.0]
    policy = FlushPolicy(rows=3, seconds=10.0, compact_parts=2, clock=lambda: now[0])
    assert not policy.full(2) and policy.full(3)
    assert not policy.due(5, dirty=True)  # not old yet
    now[0] = 11.0
    assert policy.full(1) and policy.due(0, dirty=True) and not policy.due(0, dirty=False)
    policy.flushed()
    assert not policy.old()
    assert [policy.wrote_part(1) for _ in range(3)] == [False, False, True]
    policy.merged()
    assert (policy.parts, policy.unmerged_rows) == (1, 0)


def test_the_writer_pickles_its_configuration_only(tmp_path: Path) -> None:
    writer = new_writer(tmp_path / "s", flush_seconds=1e9)
    writer.report("t0", {"lr": 0.1}, reported(1, 1.0))
    again = pickle.loads(pickle.dumps(writer))
    assert again.records == {} and again.objective == Objective("loss", "min")
    again.load()  # what a resume does: the state comes from storage
    assert again.records == {}  # nothing was flushed: nothing to continue from


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            'Traceback:\n  File "x.py", line 1\nValueError: lr must be > 0\n',
            "ValueError: lr must be > 0",
        ),
        ("ray.exceptions.RayTaskError(MemoryError)\nMemoryError", "MemoryError"),
        ("something went wrong: badly\n", "something went wrong: badly"),
        (None, NO_ERROR_TEXT),
        ("", NO_ERROR_TEXT),
    ],
)
def test_the_error_line_is_the_exception_of_the_traceback(text: str | None, line: str) -> None:
    assert error_line(text) == line
