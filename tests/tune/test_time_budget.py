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

import caviar
from caviar.search.streams import config_at
from caviar.spec import parse_spec
from caviar.tune.run import resume_sweep, run_sweep
from tests.conftest import run_cli
from tests.tune.budgeted import budgeted_spec, logged

pytestmark = pytest.mark.xdist_group("ray")


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
        budget={"time_s": 10},
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


def test_a_budget_that_ends_mid_trial_stops_its_trials(tmp_path: Path, ray_local: None) -> None:
    raw = budgeted_spec(
        "cut",
        tmp_path,
        epochs=400,
        sleep=0.05,
        search={"algorithm": "random", "num_samples": 4},
        scheduler="fifo",
        budget={"time_s": 4},
    )
    outcome = run_sweep(parse_spec(raw), show_progress=False)
    assert not outcome.interrupted
    trials, curves = _check_rows(tmp_path, tmp_path / "results" / "cut")
    stopped = trials[trials["status"] == "STOPPED"]
    assert len(stopped) == len(trials) >= 2  # those cut mid-run, and any not started yet
    assert stopped["stopped_early"].all() and stopped["error"].isna().all()
    assert (stopped["iterations"] > 0).sum() >= 1 and len(curves) > 0


def test_caviar_run_exits_0_when_the_budget_ends_mid_trial(tmp_path: Path, ray_local: None) -> None:
    import ray

    raw = budgeted_spec(
        "cli",
        tmp_path,
        epochs=400,
        sleep=0.05,
        search={"algorithm": "random", "num_samples": 2},
        scheduler="fifo",
        budget={"time_s": 3},
    )
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(raw))
    address = ray.get_runtime_context().gcs_address  # the shared Ray: no second Ray start
    result = run_cli("run", str(path), "--address", address, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "interrupted" not in result.stderr
    trials, _ = _check_rows(tmp_path, tmp_path / "results" / "cli")
    assert set(trials["status"]) == {"STOPPED"} and (trials["iterations"] > 0).all()
