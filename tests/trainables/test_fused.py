"""Fused trials: a member of a bundle trains exactly as the same config trained alone (CPU)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from caviar.trainables.bundle import (
    FINISHED,
    MEMBERS_KEY,
    STOP_KEY,
    STOPPED,
    member_metrics,
    train_bundle,
)
from caviar.trainables.data import DataSpec, load_dataset
from caviar.trainables.fused import FusedMLP, bundle_key, unfusable_reason
from caviar.trainables.mlp import train_mlp
from tests.trainables.recording import RecordingContext

BASE = {"epochs": 4, "hidden_units": 16, "batch_size": 32}
# Four members differing in every per-member knob the bundle supports.
MEMBERS: list[dict[str, Any]] = [
    {"lr": 3e-3, "seed": 1, "dropout": 0.2, "weight_decay": 1e-3, "beta1": 0.8, "nesterov": True},
    {"lr": 1e-2, "seed": 2, "lr_schedule": "cosine", "momentum": 0.5, "warmup_epochs": 1},
    {"lr": 1e-3, "seed": 3, "dropout": 0.5, "l1": 1e-4, "beta2": 0.99, "init": "kaiming"},
    {"lr": 3e-2, "seed": 4, "weight_decay": 1e-2, "eps": 1e-6, "momentum": 0.0},
]
KEYS = ("train_loss", "val_loss", "val_accuracy", "lr_now")


def _alone(spec: DataSpec, config: dict[str, Any]) -> list[dict[str, Any]]:
    return _trained_alone(spec, config).reports


def _trained_alone(spec: DataSpec, config: dict[str, Any]) -> RecordingContext:
    ctx = RecordingContext(spec)
    train_mlp(config, ctx)
    return ctx


def _assert_same_curve(alone: list[dict[str, Any]], fused: list[dict[str, Any]]) -> None:
    assert len(alone) == len(fused)
    for key in KEYS:
        if key in alone[0]:
            np.testing.assert_allclose(
                [r[key] for r in fused], [r[key] for r in alone], rtol=0, atol=1e-5, err_msg=key
            )


@pytest.mark.parametrize(
    ("optimizer", "task"),
    [("adam", "classification"), ("sgd", "classification"), ("adamw", "regression")],
)
def test_member_curves_match_the_same_configs_trained_alone(optimizer: str, task: str) -> None:
    spec = DataSpec(synthetic=task, n_samples=400, n_features=8)  # type: ignore[arg-type]
    configs = [{**BASE, **member, "optimizer": optimizer} for member in MEMBERS]
    fused = FusedMLP(configs, load_dataset(spec))
    curves: dict[int, list[dict[str, Any]]] = {i: [] for i in range(len(configs))}
    for _ in range(BASE["epochs"]):
        for member, metrics in fused.train_epoch().items():
            curves[member].append(metrics)
    for index, config in enumerate(configs):
        alone = _trained_alone(spec, config)
        _assert_same_curve(alone.reports, curves[index])
        # Not only the curves: the trained weights agree to float32 rounding. They were the very
        # same floats on an Intel Xeon, but MKL picks other kernels for baddbmm and addmm on other
        # CPUs (an AMD EPYC here), so bit-identity is a property of the machine, not of caviar.
        weights = alone.checkpoints[-1][1]["folds"][0]["model"].values()
        for fused_weight, weight in zip(fused.member_parameters(index), weights, strict=True):
            torch.testing.assert_close(fused_weight, weight, rtol=0, atol=1e-6)


def test_members_leaving_the_stack_do_not_change_the_others() -> None:
    spec = DataSpec(n_samples=300, n_features=6)
    configs = [{**BASE, **member} for member in MEMBERS]
    fused = FusedMLP(configs, load_dataset(spec))
    curve: list[dict[str, Any]] = []
    for epoch in range(BASE["epochs"]):
        curve.append(fused.train_epoch()[2])
        if epoch == 0:
            fused.remove([0, 3])
            assert fused.members == [1, 2]
    _assert_same_curve(_alone(spec, configs[2]), curve)


def test_bundle_reports_each_member_and_resumes_bit_for_bit() -> None:
    spec = DataSpec(n_samples=300, n_features=6)
    configs = [{**BASE, **member, "epochs": 3 + i} for i, member in enumerate(MEMBERS)]
    bundle = {MEMBERS_KEY: configs, STOP_KEY: {}}
    straight = RecordingContext(spec)
    train_bundle(bundle, straight)
    # Members with fewer epochs finish first and leave; the bundle runs as long as its longest.
    assert len(straight.reports) == 6
    for index, config in enumerate(configs):
        rows = [member_metrics(r)[index] for r in straight.reports if index in member_metrics(r)]
        _assert_same_curve(_alone(spec, config), rows)
        assert rows[-1]["fate"] == FINISHED
    resumed = RecordingContext(spec, saved=straight.checkpoints[2])
    train_bundle(bundle, resumed)
    assert _without_times(resumed.reports) == _without_times(straight.reports[3:])


def _without_times(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if not k.endswith("epoch_time_s")} for r in reports]


def test_asha_rungs_stop_the_worst_members_inside_the_bundle() -> None:
    spec = DataSpec(n_samples=300, n_features=6)
    lrs = [1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5]
    configs = [{**BASE, "epochs": 8, "lr": lr, "seed": i} for i, lr in enumerate(lrs)]
    rule = {"metric": "val_loss", "mode": "min", "max_t": 8, "grace_period": 1}
    ctx = RecordingContext(spec)
    train_bundle({MEMBERS_KEY: configs, STOP_KEY: {**rule, "reduction_factor": 2}}, ctx)
    fates = {}
    for report in ctx.reports:
        for member, metrics in member_metrics(report).items():
            fates[member] = (metrics["fate"], report["members_active"])
    stopped = [m for m, (fate, _) in fates.items() if fate == STOPPED]
    assert stopped, fates
    assert any(fate == FINISHED for fate, _ in fates.values())
    # The stack thinned out as members were cut.
    assert ctx.reports[-1]["members_active"] < len(configs)


def test_configs_that_cannot_be_fused_say_why() -> None:
    data = load_dataset(DataSpec(n_samples=100, n_features=4))
    assert unfusable_reason({"batch_norm": True}, data) == "batch_norm is not fused"
    assert "rmsprop" in str(unfusable_reason({"optimizer": "rmsprop"}, data))
    assert unfusable_reason({"lr": 0.1, "dropout": 0.3}, data) is None
    folds = load_dataset(DataSpec(n_samples=100, n_features=4, folds=2))
    assert unfusable_reason({}, folds) == "cross-validation folds are not fused"
    assert bundle_key({"hidden_units": 8}) != bundle_key({"hidden_units": 9})
    with pytest.raises(ValueError, match="must agree"):
        FusedMLP([{"hidden_units": 8}, {"hidden_units": 9}], data)


class _Stopped(Exception):
    """Tune stopping a trial: its report does not return."""


class _UnderRaysAsha(RecordingContext):
    """A trial run as Tune runs it under Ray's own ASHA: a STOP decision ends the trial there."""

    def __init__(self, spec: DataSpec, asha: Any, trial: Any) -> None:
        super().__init__(spec)
        self.asha, self.trial = asha, trial

    def _send(self, metrics: dict[str, Any], state: Any) -> None:
        super()._send(metrics, state)
        result = {"training_iteration": self.iteration, **metrics}
        if self.asha.on_trial_result(None, self.trial, result) == "STOP":
            self.asha.on_trial_complete(None, self.trial, result)
            raise _Stopped


def _cut_unfused(
    spec: DataSpec, configs: list[dict[str, Any]], rule: dict[str, Any]
) -> set[tuple[int, int]]:
    """(config, iteration) of each trial Ray's ASHA stops, the trials run one at a time."""
    from ray.tune.schedulers import AsyncHyperBandScheduler

    options = {k: v for k, v in rule.items() if k not in ("metric", "mode")}
    asha = AsyncHyperBandScheduler(metric=rule["metric"], mode=rule["mode"], **options)
    cut = set()
    for index, config in enumerate(configs):
        trial = type("Trial", (), {"trial_id": f"t{index}"})()
        asha.on_trial_add(None, trial)
        ctx = _UnderRaysAsha(spec, asha, trial)
        try:
            train_mlp(config, ctx)
        except _Stopped:
            if ctx.iteration < config["epochs"]:
                cut.add((index, ctx.iteration))
    return cut


def _cut_fused(
    spec: DataSpec, configs: list[dict[str, Any]], rule: dict[str, Any], k: int, shared: bool
) -> set[tuple[int, int]]:
    """(config, iteration) of each member cut, bundles of k run one at a time."""
    from caviar.objective import Objective
    from caviar.schedule import Asha

    rungs = Asha.from_options(Objective(rule["metric"], rule["mode"]), rule) if shared else None
    cut = set()
    for first in range(0, len(configs), k):
        ctx = RecordingContext(spec)
        bundle = {MEMBERS_KEY: configs[first : first + k], STOP_KEY: rule}
        train_bundle(bundle, ctx, rungs=rungs, prefix=f"b{first}_m")
        for iteration, report in enumerate(ctx.reports, start=1):
            for member, metrics in member_metrics(report).items():
                if metrics["fate"] == STOPPED:
                    cut.add((first + member, iteration))
    return cut


def test_one_asha_across_bundles_cuts_the_members_unfused_asha_cuts_whatever_k() -> None:
    spec = DataSpec(n_samples=300, n_features=6)
    lrs = [3e-2, 1e-4, 1e-2, 3e-4, 1e-1, 3e-5, 3e-3, 1e-3]
    configs = [{**BASE, "epochs": 8, "lr": lr, "seed": i} for i, lr in enumerate(lrs)]
    rule = {
        "metric": "val_loss",
        "mode": "min",
        "max_t": 8,
        "grace_period": 1,
        "reduction_factor": 2,
    }
    unfused = _cut_unfused(spec, configs, rule)
    assert unfused and len(unfused) < len(configs)
    for k in (2, 4):
        assert _cut_fused(spec, configs, rule, k, shared=True) == unfused, k
    # Rungs per bundle (the earlier rule) let a member compete only with its bundle-mates.
    assert _cut_fused(spec, configs, rule, 2, shared=False) != unfused
