"""Torn snapshots with searchers that keep per-trial state: TPE, and `confirm:` (issue 23).

As in test_torn_snapshot.py, a real sweep runs, its Tune snapshot is torn by hand the way a kill -9
during Tune's background upload tears it, and the sweep is resumed. These take a minute each
(slow); tests/tune/test_resume_bookkeeping.py has the fast slice, on the searchers alone.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import ray.cloudpickle as cloudpickle

import caviar
from caviar.spec.parse import parse_spec
from caviar.tune.run import resume_sweep, run_sweep
from tests.results.killable import killable_spec

pytestmark = pytest.mark.xdist_group("ray")


def _reopen(tune: Path, trial_id: str) -> None:
    """The trial list of a save made while ``trial_id`` still ran (Tune reruns it on resume)."""
    (path,) = tune.glob("experiment_state-*.json")
    state = json.loads(path.read_text())
    entries = []
    for entry in state["trial_data"]:
        data = json.loads(entry[0])
        if data["trial_id"] == trial_id:
            data["status"] = "RUNNING"
            entry = [json.dumps(data), *entry[1:]]
        entries.append(entry)
    state["trial_data"] = entries
    path.write_text(json.dumps(state))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_tpe_with_its_state_behind_the_trial_list_resumes(ray_local: None, tmp_path: Path) -> None:
    """OptunaSearch failed with a KeyError on every resume for a trial it had not seen."""
    spec = parse_spec(
        killable_spec(
            "tpe", tmp_path, 2, 0.0, search={"algorithm": "tpe", "num_samples": 4}, seed=1
        )
    )
    run_sweep(spec, False)
    sweep = Path(spec.sweep_uri)
    before = caviar.read_trials(str(sweep))
    last = str(before.sort_values("started_at")["trial_id"].iloc[-1])
    (searcher_file,) = (sweep / "tune").glob("searcher-state-*.pkl")
    state = pickle.loads(searcher_file.read_bytes())
    del state["_ot_trials"][last]  # saved before that trial was created
    state["_completed_trials"].discard(last)
    searcher_file.write_bytes(pickle.dumps(state))
    _reopen(sweep / "tune", last)

    resume_sweep(str(sweep), False)
    after = caviar.read_trials(str(sweep))
    assert len(after) == 4 and set(after["status"]) == {"TERMINATED"}
    assert not caviar.read_curves(str(sweep)).duplicated(["trial_id", "iteration"]).any()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_confirm_with_its_state_ahead_of_the_trial_list_starts_the_confirmations(
    ray_local: None, tmp_path: Path
) -> None:
    """A confirming searcher waiting on a trial the list lost never started confirming: a hang."""
    spec = parse_spec(
        killable_spec(
            "confirm",
            tmp_path,
            2,
            0.0,
            search={"num_samples": 3},
            confirm={"top_k": 1, "seeds": 2},
        )
    )
    run_sweep(spec, False)
    sweep = Path(spec.sweep_uri)
    assert len(caviar.read_trials(str(sweep))) == 5
    tune = sweep / "tune"
    # The trial list of a save made while the 3rd search trial was being created: 2 trials.
    (path,) = tune.glob("experiment_state-*.json")
    state = json.loads(path.read_text())
    ordered = sorted(state["trial_data"], key=lambda e: json.loads(e[0])["trial_id"])
    third = json.loads(ordered[2][0])["trial_id"]
    state["trial_data"] = ordered[:2]
    path.write_text(json.dumps(state))
    # The search state of a later save, while the 3rd (lost from the list) still ran.
    (generator,) = tune.glob("search_gen_state-*.json")
    generator_state = cloudpickle.loads(generator.read_bytes())
    confirming = generator_state["name:ConfirmingSearcher"]
    confirming.update(live={third}, queue=None, search_done=False)
    generator_state.update(counter=3, finished=False)
    generator.write_bytes(cloudpickle.dumps(generator_state))
    (searcher,) = tune.glob("searcher-state-*.pkl")
    searcher.write_text(json.dumps({"count": 3}))

    resume_sweep(str(sweep), False)  # hung here, waiting for the lost trial forever
    after = caviar.read_trials(str(sweep))
    assert len(after) == 5 and set(after["status"]) == {"TERMINATED"}
    assert after["confirm_of"].notna().sum() == 2
    assert not caviar.read_curves(str(sweep)).duplicated(["trial_id", "iteration"]).any()
