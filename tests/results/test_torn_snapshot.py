"""Resuming from a torn Ray Tune snapshot: its trial list and its search state from different moments.

Tune uploads its snapshot (the trial list, the search generator's state, the searcher's state) file
by file from a background thread, each file from whichever save last rewrote it, so a kill -9 can
leave them out of step. This was the flaky kill -9 test's failure (after resume, 1 of 6 trials): a
search state ahead of the trial list made Tune think every trial had been created. The trial list
is the truth (it holds every trial created before its save, so its length is the searcher's
progress); these tests tear a real snapshot both ways and resume it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import ray.cloudpickle as cloudpickle

import caviar
from caviar.spec.model import SweepSpec
from caviar.spec.parse import parse_spec
from caviar.tune.run import resume_sweep, run_sweep
from caviar.tune.searchers import SpaceSearcher
from tests.results.killable import killable_spec

pytestmark = pytest.mark.xdist_group("ray")
TRIALS, EPOCHS = 5, 2


def _spec(tmp_path: Path) -> SweepSpec:
    spec = killable_spec("torn", tmp_path / "results", EPOCHS, 0.0, search={"num_samples": TRIALS})
    return parse_spec(spec)


def _keep_first_trials(spec: SweepSpec, count: int) -> None:
    """The trial list of an early save: the first ``count`` trials created, as Tune saves them.

    Tune lists trials in no fixed order (it caches them in a set between saves), so the first
    created are found by their configs: the searcher's first ``count``.
    """
    tune = Path(spec.sweep_uri) / "tune"
    searcher = SpaceSearcher(spec.space, seed=spec.seed, total=TRIALS)
    first_x = {round(searcher.config_at(i)["x"], 9) for i in range(count)}
    trials = caviar.read_trials(spec.sweep_uri)
    first_ids = set(trials.loc[trials["x"].round(9).isin(first_x), "trial_id"])
    assert len(first_ids) == count
    (path,) = tune.glob("experiment_state-*.json")
    state = json.loads(path.read_text())
    state["trial_data"] = [
        entry for entry in state["trial_data"] if json.loads(entry[0])["trial_id"] in first_ids
    ]
    assert len(state["trial_data"]) == count
    path.write_text(json.dumps(state))


def _rewind_search(tune: Path, count: int) -> None:
    (generator,) = tune.glob("search_gen_state-*.json")
    state = cloudpickle.loads(generator.read_bytes())
    state.update(counter=count, finished=False)
    generator.write_bytes(cloudpickle.dumps(state))
    (searcher,) = tune.glob("searcher-state-*.pkl")
    searcher.write_text(json.dumps({"count": count}))


@pytest.mark.parametrize("torn", ["search state ahead", "search state behind"])
def test_a_torn_snapshot_resumes_to_exactly_the_sweeps_trials(
    ray_local: None, tmp_path: Path, torn: str
) -> None:
    spec = _spec(tmp_path)
    run_sweep(spec, False)
    sweep = Path(spec.sweep_uri)
    before = caviar.read_trials(str(sweep))
    if (
        torn == "search state ahead"
    ):  # the trial list of an early save, the search state of a late one
        _keep_first_trials(spec, 1)
    else:
        _rewind_search(sweep / "tune", 2)
    resume_sweep(str(sweep), False)
    after = caviar.read_trials(str(sweep))
    assert len(after) == TRIALS and set(after["status"]) == {"TERMINATED"}
    assert sorted(after["x"].round(9)) == sorted(
        before["x"].round(9)
    )  # the same configs, once each
    curves = caviar.read_curves(str(sweep))
    assert len(curves) == TRIALS * EPOCHS
    assert not curves.duplicated(["trial_id", "iteration"]).any()
    assert set(curves["trial_id"]) == set(after["trial_id"])
