"""What a live page shows is what is on storage: results wait at most flush_seconds there."""

from __future__ import annotations

import time
from pathlib import Path

import caviar
from tests.results.synthetic import make_callback, make_trials, result


def test_buffered_rows_are_flushed_between_reports(tmp_path: Path) -> None:
    sweep = tmp_path / "s"
    callback = make_callback(sweep, flush_rows=10_000, flush_seconds=0.2)
    callback.setup()
    trials = make_trials(2)
    for trial in trials:
        callback.on_trial_start(0, trials, trial)
    callback.on_trial_result(0, trials, trials[0], result(trials[0], 1))
    callback.on_step_end(1, trials)  # too soon: still buffered
    assert len(caviar.read_curves(str(sweep))) == 0
    time.sleep(0.3)
    callback.on_step_end(2, trials)  # no report since, but the buffer is old: flushed
    curves = caviar.read_curves(str(sweep))
    assert list(zip(curves["trial_id"], curves["iteration"], strict=True)) == [("t000000", 1)]
    assert set(caviar.read_trials(str(sweep))["status"]) == {"RUNNING"}
    # A status change alone (a trial ended, no new rows) reaches storage the same way.
    callback.on_trial_complete(0, trials, trials[1])
    time.sleep(0.3)
    callback.on_step_end(3, trials)
    statuses = caviar.read_trials(str(sweep)).set_index("trial_id")["status"]
    assert statuses["t000001"] == "TERMINATED"
