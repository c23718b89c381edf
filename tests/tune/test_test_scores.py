"""The held-out test set in real sweeps on the shared Ray: scored once, after the fit, for the
selected trials only (the best and the confirmations), never feeding selection; scores equal
scoring the checkpoint directly; a resume scores what a killed run left unscored; the CLI shows them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import caviar
from caviar.cli import main
from caviar.results import test_scores
from caviar.results.store import TUNE_DIR, SweepStore
from caviar.spec.parse import parse_spec
from caviar.trainables.evaluate import score_trial
from caviar.tune.run import resume_sweep, run_sweep
from tests.conftest import small_spec

pytestmark = pytest.mark.xdist_group("ray")

TESTED = ["test_loss", "test_accuracy"]
# What must be the same whether or not the sweep has a test set: configs, ASHA's cuts, metrics.
SELECTION = ["lr", "hidden_units", "seed", "confirm_of", "iterations", "stopped_early"]
METRICS = ["best_val_loss", "val_loss", "val_accuracy"]


def _files(tmp_path: Path) -> dict[str, str]:
    """Train and validation tables, and a test table whose labels are shifted: a test set that
    ranks models differently from the validation set, had it any say."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(360, 6))
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(6)])
    frame["y"] = (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 0.5).astype(int)
    frame.iloc[:240].to_parquet(tmp_path / "train.parquet")
    frame.iloc[240:].to_parquet(tmp_path / "val.parquet")
    shifted = frame.iloc[240:].copy()
    shifted["y"] = (shifted["y"] + 1) % 3
    shifted.to_parquet(tmp_path / "test.parquet")
    return {name: str(tmp_path / f"{name}.parquet") for name in ("train", "val", "test")}


def _spec(tmp_path: Path, name: str, test: bool, **overrides: Any) -> dict[str, Any]:
    files = _files(tmp_path)
    data = {"path": files["train"], "target": "y", "validation": files["val"]}
    if test:
        data["test"] = files["test"]
    options: dict[str, Any] = {
        "name": name,
        "data": data,
        "search": {"algorithm": "random", "num_samples": 4},
        "scheduler": {"name": "asha", "max_t": 4, "grace_period": 1, "reduction_factor": 2},
        "confirm": {"top_k": 1, "seeds": 1},
        "max_concurrent": 1,  # one at a time: ASHA decides on the same sequence in both sweeps
    }
    options.update(overrides)
    return small_spec(tmp_path, **{k: v for k, v in options.items() if v is not None})


def _ordered(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials in the order they ran (one at a time), numbered: trial ids differ between sweeps."""
    ordered = trials.sort_values("started_at").reset_index(drop=True)
    order = {trial_id: n for n, trial_id in enumerate(ordered["trial_id"])}
    return ordered.assign(order=range(len(ordered)), confirm_of=ordered["confirm_of"].map(order))


def _last_checkpoint(sweep: str, trial_id: str) -> Path:
    return sorted((Path(sweep) / TUNE_DIR / trial_id).glob("checkpoint_*"))[-1]


def _run(tmp_path: Path, name: str, test: bool, **overrides: Any) -> dict[str, Any]:
    spec = parse_spec(_spec(tmp_path, name, test, **overrides))
    outcome = run_sweep(spec, show_progress=False)
    assert outcome.errors == 0 and not outcome.interrupted
    return {name: outcome.sweep_uri, f"{name}_spec": spec}


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory: pytest.TempPathFactory, ray_local: None) -> dict[str, Any]:
    """An ASHA sweep (4 trials + 1 confirmation) with a test file, two trials at a time."""
    return _run(tmp_path_factory.mktemp("test_scores"), "tested", True, max_concurrent=None)


def test_only_the_best_and_the_confirmation_get_test_scores(sweeps: dict[str, Any]) -> None:
    trials = caviar.read_trials(sweeps["tested"])
    best = trials.sort_values(["best_val_loss", "trial_id"]).iloc[0]["trial_id"]
    confirmations = set(trials.loc[trials["confirm_of"].notna(), "trial_id"])
    assert len(confirmations) == 1 and best not in confirmations
    scored = set(trials.loc[trials["test_loss"].notna(), "trial_id"])
    assert scored == {best, *confirmations}
    assert trials.loc[trials["test_accuracy"].notna(), "trial_id"].tolist() == sorted(
        scored, key=trials["trial_id"].tolist().index
    )


def _trial_order(trials: pd.DataFrame) -> list[str]:
    return trials.sort_values(["best_val_loss", "trial_id"])["trial_id"].tolist()


def test_the_test_set_would_rank_otherwise_and_is_not_asked(sweeps: dict[str, Any]) -> None:
    """Fast slice: the scored trial is the best by validation, while the test set, scored on every
    trial's model directly, would rank the trials in another order."""
    trials = caviar.read_trials(sweeps["tested"])
    data = sweeps["tested_spec"].data
    direct = {
        row["trial_id"]: score_trial(
            "mlp", row, _last_checkpoint(sweeps["tested"], row["trial_id"]), data
        )["test_loss"]
        for row in trials.to_dict("records")
    }
    by_val = _trial_order(trials)
    assert sorted(direct, key=lambda t: (direct[t], t)) != by_val
    assert trials.loc[trials["test_loss"].notna(), "trial_id"].iloc[0] in by_val[:1] + list(
        trials.loc[trials["confirm_of"].notna(), "trial_id"]
    )
    assert by_val[0] in set(trials.loc[trials["test_loss"].notna(), "trial_id"])


@pytest.mark.slow
def test_the_test_set_never_feeds_selection(tmp_path: Path, ray_local: None) -> None:
    """The same sweep with and without a test file: same configs, same ASHA cuts, same validation
    curves, same best trial."""
    sweeps = {**_run(tmp_path, "plain", False), **_run(tmp_path, "tested", True)}
    plain = _ordered(caviar.read_trials(sweeps["plain"]))
    tested = _ordered(caviar.read_trials(sweeps["tested"]))
    assert tested["test_loss"].notna().sum() == 2  # the best and the confirmation
    assert not [c for c in plain if c.startswith("test_")]
    pd.testing.assert_frame_equal(plain[SELECTION], tested[SELECTION])
    pd.testing.assert_frame_equal(plain[METRICS], tested[METRICS])
    assert plain["best_val_loss"].idxmin() == tested["best_val_loss"].idxmin()
    curves = []
    for trials, uri in ((plain, sweeps["plain"]), (tested, sweeps["tested"])):
        order = dict(zip(trials["trial_id"], trials["order"], strict=True))
        rows = caviar.read_curves(uri)
        rows = rows.assign(order=rows["trial_id"].map(order))[["order", "iteration", "val_loss"]]
        curves.append(rows.sort_values(["order", "iteration"]).reset_index(drop=True))
    pd.testing.assert_frame_equal(*curves)


def test_each_score_is_the_checkpoint_scored_directly(sweeps: dict[str, Any]) -> None:
    trials = caviar.read_trials(sweeps["tested"])
    data = sweeps["tested_spec"].data
    for row in trials[trials["test_loss"].notna()].to_dict("records"):
        direct = score_trial("mlp", row, _last_checkpoint(sweeps["tested"], row["trial_id"]), data)
        assert {k: row[k] for k in TESTED} == pytest.approx(direct, rel=1e-12)


def test_a_resume_scores_what_a_killed_run_left_unscored_and_nothing_twice(
    sweeps: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    uri = sweeps["tested"]
    before = caviar.read_trials(uri).set_index("trial_id")[TESTED]
    store = SweepStore.at(uri)
    trials = store.read_trials()
    assert trials is not None
    test_scores.write_scores(store, trials, {})  # killed after the fit, before the scoring
    assert not [c for c in caviar.read_trials(uri) if c.startswith("test_")]
    with caplog.at_level(logging.INFO, logger="caviar.tune.test_scores"):
        resume_sweep(uri, show_progress=False)
    after = caviar.read_trials(uri).set_index("trial_id")[TESTED]
    pd.testing.assert_frame_equal(before.sort_index(), after.sort_index())
    assert "2 of 2 selected trials scored" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="caviar.tune.test_scores"):
        resume_sweep(uri, show_progress=False)  # ended and scored: nothing to score again
    assert "scored in" not in caplog.text
    pd.testing.assert_frame_equal(
        before.sort_index(), caviar.read_trials(uri).set_index("trial_id")[TESTED].sort_index()
    )


def test_caviar_show_prints_the_test_scores(
    sweeps: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        main(["show", sweeps["tested"]])
    except SystemExit as exited:
        assert not exited.code
    shown = capsys.readouterr().out
    assert "test_loss" in shown and "test_accuracy" in shown
    trials = caviar.read_trials(sweeps["tested"])
    for row in trials[trials["test_loss"].notna()].to_dict("records"):
        line = next(line for line in shown.splitlines() if row["trial_id"] in line)
        assert f"{row['test_loss']:.4g}" in line


def test_a_fused_members_score_comes_from_its_own_weights_in_the_bundle(
    tmp_path: Path, ray_local: None
) -> None:
    """Validation and test are one file: the best member's test scores are its last val scores,
    which only its own weights (kept in the bundle checkpoint when ASHA cut it) give."""
    files = _files(tmp_path)
    data = {"path": files["train"], "target": "y", "validation": files["val"], "test": files["val"]}
    space = {"lr": "loguniform(1e-3, 1e-1)", "hidden_units": 12, "layers": 1, "epochs": 4}
    space["batch_size"] = 64
    overrides = {"data": data, "fuse": 4, "confirm": None, "max_concurrent": None, "space": space}
    spec = parse_spec(_spec(tmp_path, "fused", True, **overrides))
    outcome = run_sweep(spec, show_progress=False)
    trials = caviar.read_trials(outcome.sweep_uri)
    assert trials["trial_id"].str.contains("_m").all()  # one bundle, four members
    scored = trials[trials["test_loss"].notna()]
    assert len(scored) == 1
    best = scored.iloc[0]
    assert best["best_val_loss"] == trials["best_val_loss"].min()
    assert best["test_accuracy"] == pytest.approx(best["val_accuracy"], abs=1e-9)
    assert best["test_loss"] == pytest.approx(best["val_loss"], rel=1e-5)


def test_an_estimators_sweep_is_not_scored_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A fitted scikit-learn estimator is not checkpointed: one log line, no test columns."""
    from caviar.tune.test_scores import score_selected

    spec = parse_spec(
        small_spec(
            tmp_path,
            trainable="sklearn:sklearn.linear_model.LogisticRegression",
            data={"dataset": "digits", "test_fraction": 0.2},
            metric="val_accuracy",
            mode="max",
            space={"C": "loguniform(1e-2, 1e2)"},
        )
    )
    with caplog.at_level(logging.INFO, logger="caviar.tune.test_scores"):
        assert score_selected(spec, None) == {}
    assert "not checkpointed" in caplog.text
    assert not (tmp_path / "results").exists()  # nothing read or written


def test_a_sweep_that_did_not_end_is_scored_by_its_resume_not_now(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Interrupted (a trial still RUNNING): the best so far is not the sweep's; nothing scored."""
    from datetime import UTC, datetime

    from caviar.results.reported import Reported
    from caviar.results.writer import ResultsWriter
    from caviar.tune.test_scores import score_selected

    data = {"synthetic": "classification", "n_samples": 100, "n_features": 4, "test_fraction": 0.2}
    spec = parse_spec(small_spec(tmp_path, data=data))
    store = SweepStore.at(spec.sweep_uri)
    store.write_text("sweep.yaml", "name: small\n")
    writer = ResultsWriter(store, spec.space, "val_loss", "min", "name: small\n", "0")
    config = {"lr": 0.01, "hidden_units": 8}
    writer.start("t0", config)
    writer.report("t0", config, Reported(1, {"val_loss": 0.5}, 0.1, datetime.now(UTC), False))
    writer.flush()
    with caplog.at_level(logging.INFO, logger="caviar.tune.test_scores"):
        assert score_selected(spec, None) == {}
    assert "did not end" in caplog.text
    assert "test_loss" not in caviar.read_trials(spec.sweep_uri)
