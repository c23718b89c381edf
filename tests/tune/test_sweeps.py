"""Small real sweeps on the shared local Ray: each algorithm and scheduler does what it claims."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import caviar
from caviar.spec.parse import parse_spec
from caviar.tune.run import SweepOutcome, run_sweep
from tests.conftest import small_spec

pytestmark = pytest.mark.xdist_group("ray")
OBJECTIVE = "tests.tune.objectives:quadratic"


def quadratic_spec(tmp_path: Path, name: str, **overrides: Any) -> dict[str, Any]:
    """A sweep of the cheap quadratic objective: best lr 10^-2.5, curves 1/epoch above it."""
    spec: dict[str, Any] = {
        "name": name,
        "trainable": OBJECTIVE,
        "metric": "loss",
        "mode": "min",
        "space": {"lr": "loguniform(1e-5, 1)", "epochs": 1},
        "search": {"algorithm": "random", "num_samples": 8},
        "seed": 0,
        "storage": str(tmp_path / "results"),
    }
    spec.update(overrides)
    return spec


def run(raw: dict[str, Any]) -> tuple[SweepOutcome, pd.DataFrame]:
    outcome = run_sweep(parse_spec(raw), show_progress=False)
    return outcome, caviar.read_trials(outcome.sweep_uri)


@pytest.mark.parametrize(
    "scheduler",
    [
        {"name": "asha", "grace_period": 1, "reduction_factor": 4},
        {"name": "hyperband", "reduction_factor": 3},
        {"name": "median", "grace_period": 1, "min_samples_required": 2},
    ],
    ids=["asha", "hyperband", "median"],
)
def test_early_stopping_stops_most_trials_before_max_t(
    tmp_path: Path, ray_local: None, scheduler: dict[str, Any]
) -> None:
    raw = quadratic_spec(
        tmp_path,
        scheduler["name"],
        space={"lr": "loguniform(1e-5, 1)", "epochs": 9},
        search={"algorithm": "random", "num_samples": 24},
        scheduler=scheduler,
    )
    if scheduler["name"] == "asha":
        # One trial at a time: which trials a rung has seen no longer depends on timing, so the
        # outcome is the same on every run (two at a time, ASHA once stopped exactly half).
        raw["max_concurrent"] = 1
    outcome, trials = run(raw)
    assert outcome.errors == 0 and len(trials) == 24
    assert set(trials["status"]) == {"TERMINATED"}
    stopped = trials[trials["iterations"] < 9]
    assert len(stopped) > len(trials) / 2, trials[["lr", "iterations", "best_loss"]]
    # What was cut was the worse half: the best trial ran to the end.
    best = trials.loc[trials["best_loss"].idxmin()]
    assert best["iterations"] == 9


@pytest.mark.slow  # 10-60 s: PBT restarts trials from each other's checkpoints
def test_pbt_trials_change_config_mid_run_from_checkpoints(tmp_path: Path, ray_local: None) -> None:
    raw = small_spec(
        tmp_path,
        name="pbt",
        space={"lr": "loguniform(1e-3, 1e-1)", "hidden_units": 8, "layers": 1, "epochs": 6},
        search={"algorithm": "random", "num_samples": 4},
        scheduler={
            "name": "pbt",
            "perturbation_interval": 2,
            "quantile_fraction": 0.5,
            "resample_probability": 0.25,
        },
    )
    outcome, trials = run(raw)
    assert outcome.errors == 0 and len(trials) == 4
    curves = caviar.read_curves(outcome.sweep_uri)
    changes = []
    for trial_id, curve in curves.groupby("trial_id"):
        lrs = curve.sort_values("iteration")[["iteration", "lr"]].to_numpy()
        for (_, before), (iteration, after) in itertools.pairwise(lrs):
            if not math.isclose(before, after, rel_tol=1e-9):
                changes.append((trial_id, int(iteration), before, after))
    assert changes, "no trial changed its lr while running"
    for _, iteration, _, after in changes:
        assert iteration > 2  # after a perturbation interval, continuing from a checkpoint
        assert 1e-3 <= after <= 1e-1  # inside the space's bounds
    # The trials table carries each trial's config as it ended.
    last_lr = curves.sort_values("iteration").groupby("trial_id")["lr"].last()
    changed = {trial_id for trial_id, *_ in changes}
    for trial_id in changed:
        assert trials.set_index("trial_id").loc[trial_id, "lr"] == pytest.approx(last_lr[trial_id])


def test_coarse_to_fine_rounds_narrow_around_the_best(tmp_path: Path, ray_local: None) -> None:
    raw = quadratic_spec(
        tmp_path,
        "c2f",
        search={"algorithm": "coarse_to_fine", "num_samples": 18, "rounds": 3, "top_k": 3},
    )
    outcome, trials = run(raw)
    assert outcome.errors == 0 and len(trials) == 18
    assert str(trials["round"].dtype) == "Int64"
    assert trials["round"].value_counts().sort_index().tolist() == [6, 6, 6]
    trials["log_lr"] = trials["lr"].map(math.log10)
    spans = []
    for number in (1, 2, 3):
        earlier = trials[trials["round"] < number]
        this = trials[trials["round"] == number]
        spans.append(this["log_lr"].max() - this["log_lr"].min())
        if number == 1:
            continue
        # Every trial of this round lies near the best trials of the rounds before it.
        top = earlier.nsmallest(3, "best_loss")["log_lr"]
        width = earlier[earlier["round"] == number - 1]["log_lr"]
        reach = 0.1 * 5 + (width.max() - width.min())  # the margin, and the round's own range
        assert this["log_lr"].between(top.min() - reach, top.max() + reach).all()
    assert spans[2] < spans[1] < spans[0], spans
    by_round = trials.groupby("round")["best_loss"].median()
    assert by_round[3] < by_round[1]


def test_tpe_sweep_on_conditional_space(tmp_path: Path, ray_local: None) -> None:
    raw = quadratic_spec(
        tmp_path,
        "tpe",
        space={
            "optimizer": 'choice("sgd", "adam")',
            "momentum": {
                "sample": "reverse_loguniform(0.9, 0.9999)",
                "when": {"optimizer": "sgd"},
            },
            "lr": "loguniform(1e-5, 1)",
            "epochs": 1,
        },
        search={"algorithm": "tpe", "num_samples": 10, "n_startup_trials": 4},
        max_concurrent=2,
    )
    outcome, trials = run(raw)
    assert outcome.errors == 0 and len(trials) == 10
    sgd = trials["optimizer"] == "sgd"
    assert trials.loc[sgd, "momentum"].between(0.9, 0.9999).all()
    assert trials.loc[~sgd, "momentum"].isna().all()


def test_confirm_retrains_the_winners_with_fresh_seeds(tmp_path: Path, ray_local: None) -> None:
    raw = quadratic_spec(
        tmp_path,
        "confirm",
        space={"lr": "loguniform(1e-5, 1)", "epochs": 3, "noise": 0.1},
        scheduler={"name": "asha", "grace_period": 1, "reduction_factor": 2},
        confirm={"top_k": 2, "seeds": 2},
    )
    outcome, trials = run(raw)
    assert outcome.errors == 0 and len(trials) == 8 + 4
    search = trials[trials["confirm_of"].isna()]
    runs = trials[trials["confirm_of"].notna()]
    winners = search.nsmallest(2, "best_loss")["trial_id"]
    assert sorted(runs["confirm_of"]) == sorted(list(winners) * 2)
    assert (runs["iterations"] == 3).all()  # never cut by ASHA
    assert not set(runs["seed"]) & set(search["seed"])
    summary = caviar.read_confirmations(outcome.sweep_uri)
    assert list(summary["confirm_of"]) != [] and set(summary["confirm_of"]) == set(winners)
    assert (summary["n"] == 2).all() and summary["std"].notna().all()


def test_failures_retry_from_the_last_checkpoint_and_errors_are_recorded(
    tmp_path: Path, ray_local: None
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    raw = quadratic_spec(
        tmp_path,
        "faults",
        space={
            "lr": "loguniform(1e-5, 1)",
            "epochs": 4,
            "fail_once_at": 3,
            "marker_dir": str(markers),
            "fail_always": "grid(True, False)",
        },
        search={"algorithm": "grid", "num_samples": 1},
        max_failures=1,
    )
    outcome, trials = run(raw)
    assert outcome.errors == 1 and len(trials) == 2
    failed = trials[trials["status"] == "ERROR"].iloc[0]
    assert "this trial always fails" in failed["error"]
    done = trials[trials["status"] == "TERMINATED"].iloc[0]
    assert done["iterations"] == 4
    curve = caviar.read_curves(outcome.sweep_uri, trial_ids=[done["trial_id"]])
    assert curve["iteration"].tolist() == [1, 2, 3, 4]
    # It failed once at epoch 3 and the retry continued from the checkpoint of epoch 2.
    assert (markers / f"failed-{done['trial_id']}").exists()
    assert curve["started_at_epoch"].tolist() == [1, 1, 3, 3]


def test_trial_budget_and_panda_mode(tmp_path: Path, ray_local: None) -> None:
    raw = quadratic_spec(
        tmp_path,
        "panda",
        space={"lr": "loguniform(1e-5, 1)", "epochs": 2, "sleep": 0.05},
        search={"algorithm": "random", "num_samples": 10},
        budget={"trials": 3},
        max_concurrent=1,
    )
    _, trials = run(raw)
    assert len(trials) == 3
    spans = trials.sort_values("started_at")[["started_at", "ended_at"]].to_numpy()
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end  # one model at a time


@pytest.mark.slow  # eight sweeps of 20 trials
def test_tpe_converges_faster_than_random_over_seeds(tmp_path: Path, ray_local: None) -> None:
    """On a quadratic in log10(lr) and log10(1 - momentum), TPE's best-so-far beats random's.

    One trial at a time, so TPE sees every result before its next suggestion and both runs are
    deterministic for their seed.
    """
    space = {
        "lr": "loguniform(1e-5, 1)",
        "momentum": "reverse_loguniform(0.9, 0.99999)",
        "epochs": 1,
    }
    best_so_far: dict[str, list[list[float]]] = {"tpe": [], "random": []}
    for seed in range(4):
        for algorithm, search in (
            ("tpe", {"algorithm": "tpe", "num_samples": 20, "n_startup_trials": 5}),
            ("random", {"algorithm": "random", "num_samples": 20}),
        ):
            raw = quadratic_spec(
                tmp_path,
                f"{algorithm}-{seed}",
                space=space,
                search=search,
                seed=seed,
                max_concurrent=1,
            )
            _, trials = run(raw)
            assert len(trials) == 20
            losses = trials.sort_values("started_at")["best_loss"].cummin().tolist()
            best_so_far[algorithm].append(losses)
    tpe, rand = (pd.DataFrame(best_so_far[a]) for a in ("tpe", "random"))
    wins = (tpe[19] < rand[19]).sum()
    assert wins >= 3, (tpe[19].tolist(), rand[19].tolist())
    # Past the 5 random start-up trials, TPE's best-so-far curve lies lower on average.
    assert tpe.mean()[5:].mean() < rand.mean()[5:].mean(), (tpe.mean(), rand.mean())
    assert tpe.mean()[19] < rand.mean()[19]
