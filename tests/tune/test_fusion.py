"""``fuse: K``: planning bundles, the spec key, and fused sweeps through Ray Tune into Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import caviar
from caviar.errors import SpecError
from caviar.objective import Objective
from caviar.schedule import STOP, Asha
from caviar.search.fusion import auto_fuse, fallback_summary, fuses, plan_trials
from caviar.spec.parse import parse_spec
from caviar.trainables.bundle import MEMBERS_KEY
from caviar.trainables.data import DataSpec, load_dataset
from caviar.tune.fusion import fusing
from caviar.tune.run import run_sweep
from caviar.tune.sweep_rungs import stored_rows
from tests.conftest import small_spec
from tests.trainables.test_fused import _cut_unfused

SPACE = {
    "lr": "loguniform(1e-3, 1e-1)",
    "dropout": "uniform(0, 0.3)",
    "hidden_units": "choice(8, 12)",
    "layers": 1,
    "batch_size": 32,
    "epochs": 2,
}


def test_plan_groups_configs_by_shape_in_bundles_of_k_and_notes_fallbacks() -> None:
    data = load_dataset(DataSpec(n_samples=100, n_features=4))
    configs: list[dict[str, Any]] = [
        {"hidden_units": 8, "seed": 0},
        {"hidden_units": 9, "seed": 1},
        {"hidden_units": 8, "seed": 2},
        {"hidden_units": 8, "batch_norm": True, "seed": 3},
        {"hidden_units": 8, "seed": 4},
        {"hidden_units": 9, "seed": 5},
    ]
    plan, notes = plan_trials(configs, data, fuse=2)
    bundles = [[m["seed"] for m in t[MEMBERS_KEY]] if MEMBERS_KEY in t else t["seed"] for t in plan]
    assert bundles == [[0, 2], 4, [1, 5], 3]
    assert notes == ["trial 3 runs unfused: batch_norm is not fused"]
    assert fallback_summary(notes, 6) == "1 of 6 trials run unfused: batch_norm is not fused (1)"


def test_fuse_auto_packs_more_small_models_than_big_ones() -> None:
    data = load_dataset(DataSpec(n_samples=100, n_features=20))
    small = auto_fuse({"hidden_units": 16, "layers": 1}, data, gpu=False)
    large = auto_fuse({"hidden_units": 512, "layers": 4}, data, gpu=False)
    assert small > large >= 2
    assert auto_fuse({"hidden_units": 16, "layers": 1}, data, gpu=True) >= small


@pytest.mark.parametrize(
    ("value", "message"),
    [(0, "positive integer"), ("many", "positive integer"), (True, "positive integer")],
)
def test_spec_rejects_a_bad_fuse(tmp_path: Path, value: Any, message: str) -> None:
    with pytest.raises(SpecError, match=message) as error:
        parse_spec(small_spec(tmp_path, fuse=value))
    assert error.value.path == "fuse"


def test_spec_accepts_fuse_and_refuses_other_schedulers(tmp_path: Path) -> None:
    assert parse_spec(small_spec(tmp_path, fuse=4)).fuse == 4
    assert parse_spec(small_spec(tmp_path, fuse="auto")).fuse == "auto"
    with pytest.raises(SpecError, match="fifo or asha"):
        parse_spec(small_spec(tmp_path, fuse=4, scheduler={"name": "median"}))


@pytest.mark.xdist_group("ray")
def test_fused_sweep_writes_each_member_as_the_unfused_sweep_writes_its_trial(
    tmp_path: Path, ray_local: None
) -> None:
    search = {"algorithm": "random", "num_samples": 5}
    fused = run_sweep(
        parse_spec(small_spec(tmp_path, name="fused", space=SPACE, search=search, fuse=4)),
        show_progress=False,
    )
    alone = run_sweep(
        parse_spec(small_spec(tmp_path, name="alone", space=SPACE, search=search)),
        show_progress=False,
    )
    assert fused.errors == alone.errors == 0
    trials = {o: caviar.read_trials(o.sweep_uri) for o in (fused, alone)}
    curves = {o: caviar.read_curves(o.sweep_uri) for o in (fused, alone)}
    assert len(trials[fused]) == 5 and trials[fused]["trial_id"].is_unique
    assert set(trials[fused].columns) == set(trials[alone].columns)
    assert (trials[fused]["status"] == "TERMINATED").all()
    # The same sampled configs (each has its own seed), and per config the same curve.
    by_seed = {o: trials[o].set_index("seed").sort_index() for o in (fused, alone)}
    for column in ("lr", "dropout", "hidden_units", "iterations"):
        assert by_seed[fused][column].tolist() == by_seed[alone][column].tolist()
    np.testing.assert_allclose(
        by_seed[fused]["best_val_loss"], by_seed[alone]["best_val_loss"], atol=1e-5
    )
    for outcome in (fused, alone):
        seeds = trials[outcome].set_index("trial_id")["seed"]
        curves[outcome]["seed"] = curves[outcome]["trial_id"].map(seeds)
    keyed = {o: curves[o].sort_values(["seed", "iteration"]) for o in (fused, alone)}
    assert len(keyed[fused]) == len(keyed[alone]) == 5 * 2
    np.testing.assert_allclose(keyed[fused]["val_loss"], keyed[alone]["val_loss"], atol=1e-5)
    np.testing.assert_allclose(keyed[fused]["train_loss"], keyed[alone]["train_loss"], atol=1e-5)


ASHA_SPACE = {**SPACE, "hidden_units": 8, "epochs": 6, "lr": "loguniform(1e-4, 1)"}
ASHA = {"name": "asha", "grace_period": 1, "reduction_factor": 2, "max_t": 6}


def cuts(sweep_uri: str) -> dict[int, tuple[int, bool]]:
    """Per config (its seed): the iteration it ended at and whether ASHA cut it there."""
    trials = caviar.read_trials(sweep_uri)
    assert (trials["status"] == "TERMINATED").all(), trials[["trial_id", "status"]]
    return {int(r.seed): (int(r.iterations), bool(r.stopped_early)) for r in trials.itertuples()}


ASHA_SEARCH = {"algorithm": "random", "num_samples": 8}


def in_sampling_order(sweep_uri: str) -> Any:
    """The fused sweep's trials in the order their configs were sampled: bundles in the order
    they started (one at a time), members by position."""
    trials = caviar.read_trials(sweep_uri)
    parts = trials["trial_id"].str.rpartition("_m")
    trials["bundle"], trials["position"] = parts[0], parts[2].astype(int)
    started = trials.groupby("bundle")["started_at"].min()
    trials["bundle_started"] = trials["bundle"].map(started)
    return trials.sort_values(["bundle_started", "position"]).reset_index(drop=True)


@pytest.mark.xdist_group("ray")
def test_fused_sweep_under_asha_cuts_what_rays_asha_cuts_one_trial_at_a_time(
    tmp_path: Path, ray_local: None
) -> None:
    """The sweep's one ASHA through Ray (the rungs actor, the bundles' proxies): bundles of 3,
    one at a time, cut the configs that Ray's own ASHA cuts when the same configs train one
    after the other in sampling order (in this process, tests/trainables/test_fused.py's
    ``_cut_unfused``). The slow test below runs that unfused sweep through Tune too."""
    raw = small_spec(
        tmp_path, space=ASHA_SPACE, search=ASHA_SEARCH, scheduler=ASHA, max_concurrent=1, fuse=3
    )
    fused = run_sweep(parse_spec(raw), show_progress=False)
    trials = in_sampling_order(fused.sweep_uri)
    assert len(trials) == 8 and (trials["status"] == "TERMINATED").all()
    assert trials["bundle"].nunique() == 3
    constants = {k: v for k, v in ASHA_SPACE.items() if k not in ("lr", "dropout")}
    configs = [
        {**constants, "lr": r.lr, "dropout": r.dropout, "seed": int(r.seed)}
        for r in trials.itertuples()
    ]
    rule = {"metric": "val_loss", "mode": "min", **{k: v for k, v in ASHA.items() if k != "name"}}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the trials ran (one CPU each)
    try:
        expected = _cut_unfused(DataSpec.from_dict(raw["data"]), configs, rule)
    finally:
        torch.set_num_threads(threads)
    assert expected and len(expected) < len(configs)  # ASHA cut some configs, not all
    cut = {(i, int(r.iterations)) for i, r in enumerate(trials.itertuples()) if r.stopped_early}
    assert cut == expected
    curves = caviar.read_curves(fused.sweep_uri)
    assert redecided(fused.sweep_uri, curves) == {
        r.trial_id: int(r.iterations) for r in trials.itertuples() if r.stopped_early
    }


@pytest.mark.slow  # two sweeps of 8 trials one at a time: a minute and a half on 2 busy cores
@pytest.mark.xdist_group("ray")
def test_fused_sweep_under_asha_cuts_the_members_the_unfused_sweep_cuts(
    tmp_path: Path, ray_local: None
) -> None:
    """One ASHA for the whole sweep: bundles of 3 cut the configs one-trial-at-a-time cuts.

    The guarantee is exact where the order in which results reach each rung is the same: here
    the unfused sweep runs its trials one at a time in sampling order, and the fused one its
    bundles one at a time, each bundle's members (in sampling order) reaching a rung in the same
    epoch, one after the other. A member at a rung then meets the records of exactly the configs
    sampled before it that got there, as its unfused trial does. With several trials or bundles
    running at once, ASHA is asynchronous either way: who is cut depends on who arrived first.
    """
    common = {"space": ASHA_SPACE, "search": ASHA_SEARCH, "scheduler": ASHA, "max_concurrent": 1}
    fused = run_sweep(
        parse_spec(small_spec(tmp_path, name="fused", fuse=3, **common)), show_progress=False
    )
    alone = run_sweep(parse_spec(small_spec(tmp_path, name="alone", **common)), show_progress=False)
    expected = cuts(alone.sweep_uri)
    assert any(cut for _, cut in expected.values()) and not all(
        cut for _, cut in expected.values()
    ), expected  # ASHA cut some configs, not all
    assert cuts(fused.sweep_uri) == expected
    curves = caviar.read_curves(fused.sweep_uri)
    trials = caviar.read_trials(fused.sweep_uri)
    assert curves.groupby("trial_id")["iteration"].max().to_dict() == dict(
        zip(trials["trial_id"], trials["iterations"], strict=True)
    )


def redecided(sweep_uri: str, curves: Any) -> dict[str, int]:
    """The fast slice of a resume: the rungs rebuilt from the stored rows (as a resumed driver
    rebuilds them, in Tune's trial order: here the order the bundles started in), then every
    member restarted from scratch in that order; where each is cut now. A member back at a rung
    is judged by the records that came before its own."""
    bundles = list(dict.fromkeys(in_sampling_order(sweep_uri)["bundle"]))
    rows, order = stored_rows(sweep_uri, "val_loss", bundles)
    assert sorted(order) == sorted(set(curves["trial_id"])) and len(rows) == len(curves)
    asha = Asha.from_options(Objective("val_loss", "min"), ASHA)
    asha.replay(rows, order)
    cut = {}
    for member in order:
        curve = curves[curves["trial_id"] == member].sort_values("iteration")
        for iteration, value in zip(curve["iteration"], curve["val_loss"], strict=True):
            if iteration < ASHA["max_t"] and asha.on_result(member, iteration, value) == STOP:
                cut[member] = int(iteration)
                break
    return cut


def test_user_trainables_run_unfused_with_a_note(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    raw = small_spec(
        tmp_path,
        trainable="tests.trainables.probe:train",
        space={"x": "uniform(0, 1)", "epochs": 2},
        fuse=4,
    )
    spec = parse_spec(raw)
    assert not fuses(spec) and not caplog.records  # the predicate says nothing
    assert not fusing(spec)
    assert "only the built-in mlp fuses" in caplog.text
    assert fusing(parse_spec(small_spec(tmp_path, fuse=4)))
