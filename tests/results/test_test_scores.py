"""Test-set scores in trials.parquet without Ray: who is selected, the columns, and that a resumed
writer keeps them (and drops them when the trial trains on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import caviar
from caviar.objective import Objective
from caviar.results import test_scores
from caviar.results.columns import safe_metric_names
from caviar.results.rebuild import load_trials
from caviar.results.status import TERMINATED
from caviar.results.store import TRIALS_FILE
from caviar.results.writer import KnownTrial
from tests.results.test_writer import new_writer, reported


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows)


ROWS = [
    {"trial_id": "a", "status": "TERMINATED", "best_loss": 0.5, "pareto": True, "confirm_of": None},
    {
        "trial_id": "b",
        "status": "TERMINATED",
        "best_loss": 0.2,
        "pareto": False,
        "confirm_of": None,
    },
    {
        "trial_id": "c",
        "status": "TERMINATED",
        "best_loss": None,
        "pareto": True,
        "confirm_of": None,
    },
    {"trial_id": "d", "status": "TERMINATED", "best_loss": 0.9, "pareto": False, "confirm_of": "b"},
]


@pytest.mark.parametrize(
    ("objectives", "expected"),
    [
        ([Objective("loss", "min")], ["b", "d"]),  # the best, then the confirmation
        ([Objective("loss", "max")], ["d"]),  # the confirmation is the best: once
        ([Objective("loss"), Objective("cost")], ["a", "c", "d"]),  # the Pareto front
        ([Objective("other")], ["d"]),  # no trial has the metric: confirmations only
    ],
)
def test_selected_are_the_best_or_the_front_and_the_confirmations(
    objectives: list[Objective], expected: list[str]
) -> None:
    assert test_scores.selected_trials(_table(ROWS), objectives) == expected


def test_equal_best_values_pick_the_first_trial_id() -> None:
    rows = [{"trial_id": t, "status": TERMINATED, "best_loss": 0.1} for t in ("z", "m", "q")]
    assert test_scores.selected_trials(_table(rows), [Objective("loss")]) == ["m"]


def test_the_sweep_ended_only_when_no_trial_is_left_running() -> None:
    assert test_scores.sweep_ended(_table(ROWS))
    assert not test_scores.sweep_ended(_table([*ROWS, {"trial_id": "e", "status": "RUNNING"}]))


def test_scores_replace_the_test_columns_null_for_every_other_trial() -> None:
    table = _table(ROWS).replace_schema_metadata({b"caviar.spec": b"x"})
    first = test_scores.with_scores(table, {"b": {"test_loss": 0.3, "test_accuracy": 0.8}})
    assert first.column("test_accuracy").to_pylist() == [None, 0.8, None, None]
    assert first.schema.field("test_loss").type == pa.float64()
    assert first.schema.metadata == {b"caviar.spec": b"x"}
    assert test_scores.stored_scores(first) == {"b": {"test_loss": 0.3, "test_accuracy": 0.8}}
    again = test_scores.with_scores(first, {"d": {"test_loss": 1.0}})
    assert again.column("test_loss").to_pylist() == [None, None, None, 1.0]
    assert "test_accuracy" not in again.column_names  # nobody has one now
    assert test_scores.with_scores(again, {}).column_names == table.column_names


def test_a_trainables_own_test_metric_never_takes_a_test_column() -> None:
    assert safe_metric_names({"test_accuracy": 0.9, "val_loss": 1.0}, ()) == {
        "metric_test_accuracy": 0.9,
        "val_loss": 1.0,
    }


def _sweep(tmp_path: Path) -> Any:
    """Two ended trials of a writer's sweep, t1 the best, then t1 scored as the tuner's side does."""
    writer = new_writer(tmp_path / "s")
    for trial_id, loss in (("t0", 0.9), ("t1", 0.4)):
        writer.start(trial_id, {"lr": 0.1})
        writer.report(trial_id, {"lr": 0.1}, reported(1, loss))
    writer.end([KnownTrial(t, {"lr": 0.1}, TERMINATED) for t in ("t0", "t1")])
    trials = writer.store.read_trials()
    assert test_scores.selected_trials(trials, [writer.objective]) == ["t1"]
    test_scores.write_scores(writer.store, trials, {"t1": {"test_loss": 0.5}})
    return writer


def test_a_resumed_writer_keeps_the_scores_through_its_flushes(tmp_path: Path) -> None:
    _sweep(tmp_path)
    resumed = new_writer(tmp_path / "s")  # a resume: state from storage only
    resumed.end([KnownTrial(t, {"lr": 0.1}, TERMINATED) for t in ("t0", "t1")])
    trials = caviar.read_trials(str(tmp_path / "s")).set_index("trial_id")
    assert trials.loc["t1", "test_loss"] == 0.5
    assert trials["test_loss"].isna().tolist() == [True, False]
    assert pq.read_schema(tmp_path / "s" / TRIALS_FILE).field("test_loss").type == pa.float64()


def test_a_trial_that_trains_on_loses_its_old_scores(tmp_path: Path) -> None:
    """``caviar continue``: the model scored is not the trial's model any more."""
    _sweep(tmp_path)
    resumed = new_writer(tmp_path / "s")
    resumed.report("t1", {"lr": 0.1}, reported(2, 0.3))
    resumed.end([KnownTrial(t, {"lr": 0.1}, TERMINATED) for t in ("t0", "t1")])
    trials = resumed.store.read_trials()
    assert test_scores.stored_scores(trials) == {}


def test_a_damaged_trials_table_rebuilt_from_curves_has_no_scores_to_trust(
    tmp_path: Path,
) -> None:
    """The curves never hold test scores: a rebuilt table has none, and the next scoring pass
    (every run and resume that ends the sweep) scores the selected trials again."""
    writer = _sweep(tmp_path)
    (tmp_path / "s" / TRIALS_FILE).write_bytes(b"not parquet")
    with pytest.warns(UserWarning, match="unreadable"):
        rebuilt = load_trials(writer.store, writer.objective)
    assert rebuilt is not None and test_scores.stored_scores(rebuilt) == {}
