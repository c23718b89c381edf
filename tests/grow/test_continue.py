"""``caviar continue``: the top K trials train on from their checkpoints to E epochs, their curves
contiguous from 1 to E under the same trial_id; every other trial is left exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

import caviar
from caviar.errors import SpecError
from caviar.search.continuation import check_continue
from caviar.spec.parse import parse_spec
from caviar.tune.continuation import continue_trials
from caviar.tune.run import run_sweep
from tests.results.killable import killable_spec

pytestmark = pytest.mark.xdist_group("ray")

EPOCHS, MORE = 3, 6


@pytest.mark.parametrize(
    "scheduler",
    [pytest.param("fifo", marks=pytest.mark.slow), "asha"],  # asha: make test's slice
)
def test_continue_the_best_trials(ray_local: None, tmp_path: Path, scheduler: str) -> None:
    options = {"name": "asha", "max_t": EPOCHS, "grace_period": 1} if scheduler == "asha" else {}
    spec = killable_spec(
        "cont",
        tmp_path / "results",
        EPOCHS,
        0.0,
        search={"algorithm": "tpe", "num_samples": 4, "n_startup_trials": 2},
        scheduler=options or {"name": "fifo"},
        max_concurrent=1,
    )
    sweep = tmp_path / "results" / "cont"
    run_sweep(parse_spec(spec), False)
    before_trials = caviar.read_trials(str(sweep))
    before_curves = caviar.read_curves(str(sweep))

    finished = before_trials[before_trials["status"] == "TERMINATED"]
    top = list(finished.sort_values("best_score", ascending=False)["trial_id"][:2])
    continuation = check_continue(str(sweep), 2, MORE)
    assert continuation.chosen == [t for t in top if _iterations(before_trials, t) < MORE]
    outcome = continue_trials(continuation, show_progress=False)
    assert not outcome.interrupted and not outcome.errors

    trials = caviar.read_trials(str(sweep)).set_index("trial_id")
    curves = caviar.read_curves(str(sweep))
    keys = list(zip(curves["trial_id"], curves["iteration"], strict=True))
    assert len(keys) == len(set(keys))
    for trial_id in continuation.chosen:
        curve = curves[curves["trial_id"] == trial_id].sort_values("iteration")
        assert list(curve["iteration"]) == list(range(1, MORE + 1))
        x = trials.loc[trial_id, "x"]
        assert list(curve["score"]) == pytest.approx([x * e for e in range(1, MORE + 1)])
        assert trials.loc[trial_id, "best_score"] == pytest.approx(x * MORE)
        assert trials.loc[trial_id, "iterations"] == MORE
        assert trials.loc[trial_id, "epochs"] == MORE
    others = [t for t in before_trials["trial_id"] if t not in continuation.chosen]
    old = before_curves[before_curves["trial_id"].isin(others)].sort_values(
        ["trial_id", "iteration"]
    )
    new = curves[curves["trial_id"].isin(others)].sort_values(["trial_id", "iteration"])
    pd.testing.assert_frame_equal(old.reset_index(drop=True), new.reset_index(drop=True))
    untouched = before_trials.set_index("trial_id").loc[others]
    pd.testing.assert_frame_equal(untouched, trials.loc[others][untouched.columns])
    history = yaml.safe_load((sweep / "sweep.yaml").read_text())["history"]
    assert history[-1]["command"] == "continue" and history[-1]["epochs"] == MORE

    with pytest.raises(SpecError, match="must be at least the trials' own epochs"):
        check_continue(str(sweep), 4, EPOCHS - 1)
    with pytest.raises(SpecError, match="no caviar sweep"):
        check_continue(str(tmp_path), 2, MORE)


def _iterations(trials: pd.DataFrame, trial_id: str) -> int:
    return int(trials.set_index("trial_id").loc[trial_id, "iterations"])
