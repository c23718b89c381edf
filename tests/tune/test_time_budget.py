"""A sweep's time budget is a normal end: it samples until the time is up when no trial count is
given, trials the budget cut short end STOPPED with every row Tune took, and nothing is RUNNING.

Before this, a budget that ended mid-trial left its trials RUNNING in trials.parquet and `caviar
run` exited 130 (interrupted), as if a person had pressed Ctrl-C.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from ray.tune.experiment import Trial

import caviar
from caviar.search.streams import config_at
from caviar.spec import parse_spec
from caviar.tune.run import resume_sweep, run_sweep
from tests.conftest import run_cli
from tests.results.synthetic import drive, make_callback, make_trials
from tests.tune.budgeted import budgeted_spec, logged

# A fresh sweep's first trial takes seconds to start (worker start-up and imports), 45 s on this
# 2-core machine under a load of 20: the budgets below leave room for it, so these sweeps are slow. The decision itself is tested
# fast first, on Ray's Trial objects without Tune's loop.


@pytest.mark.parametrize("budget", [True, False], ids=["time budget", "ctrl-c"])
def test_trials_tune_ended_without_a_word_are_stopped_and_interrupted_ones_stay_running(
    tmp_path: Path, budget: bool
) -> None:
    sweep = tmp_path / "sweep"
    callback = make_callback(sweep, flush_seconds=1e9)
    callback.setup()
    trials = make_trials(3)  # the third is pending: it never starts
    list(drive(callback, trials[:2], range(1, 4)))
    callback.on_step_end(0, trials)
    if budget:  # Tune's TimeoutStopper, within a step: every live trial TERMINATED, untold
        for trial in trials:
            trial.set_status(Trial.TERMINATED)
        callback.on_step_end(1, trials)
    else:  # Ctrl-C ends the loop between steps; Tune's cleanup then stops the actors, untold
        for trial in trials[:2]:
            trial.set_status(Trial.TERMINATED)
    callback.on_experiment_end(trials)
    table = caviar.read_trials(str(sweep)).set_index("trial_id")
    statuses = [table.loc[t.trial_id, "status"] for t in trials]
    if budget:
        assert statuses == ["STOPPED"] * 3
        assert table["stopped_early"].all() and table["error"].isna().all()
    else:
        assert statuses == ["RUNNING", "RUNNING", "PENDING"]  # for `caviar resume`
    assert [table.loc[t.trial_id, "iterations"] for t in trials] == [3, 3, 0]
    assert len(caviar.read_curves(str(sweep))) == 6  # every row Tune took


def _check_rows(root: Path, sweep: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Nothing left running, every row the trainable saw Tune take is there, each once."""
    trials = caviar.read_trials(str(sweep))
    curves = caviar.read_curves(str(sweep))
    assert not set(trials["status"]) & {"RUNNING", "PENDING"}, trials["status"].value_counts()
    assert not curves.duplicated(["trial_id", "iteration"]).any()
    stored = set(zip(curves["trial_id"], curves["iteration"].astype(int), strict=True))
    assert logged(root) <= stored
    per_trial = curves.groupby("trial_id")["iteration"].agg(["max", "count"])
    assert (per_trial["max"] == per_trial["count"]).all()  # contiguous from 1
    iterations = trials.set_index("trial_id")["iterations"]
    assert (iterations.reindex(per_trial.index) == per_trial["max"]).all()
    return trials, curves


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_time_budget_without_a_trial_count_samples_until_it_ends(
    tmp_path: Path, ray_local: None
) -> None:
    raw = budgeted_spec(
        "open",
        tmp_path,
        epochs=2,
        sleep=0.01,
        search={"algorithm": "random"},
        scheduler="fifo",
        budget={"time_s": 60},
    )
    spec = parse_spec(raw)
    assert spec.search.num_samples is None
    outcome = run_sweep(spec, show_progress=False)
    assert not outcome.interrupted
    sweep = tmp_path / "results" / "open"
    trials, _ = _check_rows(tmp_path, sweep)
    assert len(trials) > 16  # more than num_samples' default: it kept sampling
    # The seeded stream: trial i has config_at(i), as in a sweep planned that large.
    order = trials.sort_values("started_at")["x"].dropna().to_numpy()
    expected = {round(float(config_at(spec.space, 0, i)["x"]), 12) for i in range(len(trials))}
    assert {round(float(x), 12) for x in order} <= expected
    # Resumed: a sweep whose budget ran out resumes without running a finished trial again.
    again = resume_sweep(str(sweep), show_progress=False)
    assert not again.interrupted
    resumed, _ = _check_rows(tmp_path, sweep)
    finished = trials[trials["status"] == "TERMINATED"].set_index("trial_id")["iterations"]
    assert (resumed.set_index("trial_id")["iterations"].reindex(finished.index) == finished).all()


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_caviar_run_exits_0_when_the_budget_ends_mid_trial(tmp_path: Path, ray_local: None) -> None:
    import ray

    raw = budgeted_spec(
        "cli",
        tmp_path,
        epochs=4000,
        sleep=0.05,
        search={"algorithm": "random", "num_samples": 2},
        scheduler="fifo",
        budget={"time_s": 60},
    )
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(raw))
    address = ray.get_runtime_context().gcs_address  # the shared Ray: no second Ray start
    result = run_cli("run", str(path), "--address", address, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "interrupted" not in result.stderr
    trials, _ = _check_rows(tmp_path, tmp_path / "results" / "cli")
    assert set(trials["status"]) == {"STOPPED"} and (trials["iterations"] > 0).all()
    assert trials["stopped_early"].all() and trials["error"].isna().all()
