"""A spec without search: and scheduler: runs the recommended mode on Ray: TPE's configs, ASHA's
cuts, and sweep.yaml says so."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import caviar
from caviar.spec import parse_spec
from caviar.tune.run import run_sweep
from tests.tune.budgeted import budgeted_spec

pytestmark = pytest.mark.xdist_group("ray")


def test_the_recommended_mode_runs_tpe_with_asha(tmp_path: Path, ray_local: None) -> None:
    raw = budgeted_spec("rec", tmp_path, epochs=9, sleep=0.0, budget={"trials": 6})
    raw["max_concurrent"] = 1  # one at a time: ASHA compares each trial with those before
    outcome = run_sweep(parse_spec(raw), show_progress=False)
    sweep = tmp_path / "results" / "rec"
    ran = yaml.safe_load((sweep / "sweep.yaml").read_text())
    assert ran["search"]["algorithm"] == "tpe" and ran["scheduler"]["name"] == "asha"
    assert (ran["scheduler"]["max_t"], ran["scheduler"]["grace_period"]) == (9, 1)
    trials = caviar.read_trials(str(sweep))
    assert outcome.trials == len(trials) == 6 and not outcome.interrupted
    assert set(trials["status"]) == {"TERMINATED"}
    # score = x * epoch: a trial whose x is behind at a rung is cut there (rungs 1, 3 and 9).
    assert trials["stopped_early"].any() and (trials["iterations"] == 9).any()
    assert trials["x"].nunique() == 6
