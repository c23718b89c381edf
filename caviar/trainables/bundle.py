"""A bundle of fused mlp trials running as one Ray Tune trial, each member still its own trial.

The Tune trial's config is ``{MEMBERS_KEY: [config, ...], STOP_KEY: {...}}``, and under a sweep-wide
ASHA ``RUNGS_KEY``: the name of the sweep's rungs (``caviar.tune.sweep_rungs``). Each epoch reports one
Tune result holding every active member's metrics under ``member:<k>:<name>`` (``member_metrics``
splits them again on the driver), plus the sweep metric of the best member, which is what Tune sees.

A member leaves the stack by the rules of the shared epoch loop (``loop.Progress``: its ``epochs``
trained, diverged, out of ``patience``), or when the sweep's ASHA rule cuts it
(``caviar.schedule.Asha``, Ray's decisions without Ray). Given one ``Asha`` for the whole sweep
(``rungs``), every fused member competes in the same rungs, whatever bundle it trains in, so which
members are cut does not depend on K; without one, the bundle keeps rungs of its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from caviar.objective import Objective, as_mode
from caviar.schedule import STOP, Asha, Rungs
from caviar.trainables.fates import DIVERGED, FINISHED, RUNNING, STOPPED

if TYPE_CHECKING:
    from caviar.trainables.protocol import TrainContext

__all__ = [
    "DIVERGED",
    "FINISHED",
    "MEMBERS_KEY",
    "MEMBER_PREFIX",
    "RUNGS_KEY",
    "RUNNING",
    "STOPPED",
    "STOP_KEY",
    "MemberStopper",
    "member_key",
    "member_metrics",
    "member_weights",
    "train_bundle",
]

MEMBERS_KEY = "__members__"
STOP_KEY = "__stop__"
RUNGS_KEY = "__rungs__"
MEMBER_PREFIX = "member:"


def member_key(k: int, name: str) -> str:
    return f"{MEMBER_PREFIX}{k}:{name}"


def member_metrics(result: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
    """The per-member metrics of one bundle result, keyed by member position."""
    found: dict[int, dict[str, Any]] = {}
    for key, value in result.items():
        if isinstance(key, str) and key.startswith(MEMBER_PREFIX):
            position, _, name = key[len(MEMBER_PREFIX) :].partition(":")
            found.setdefault(int(position), {})[name] = value
    return found


def member_weights(state: Mapping[str, Any], member: int) -> list[Any] | None:
    """Member ``member``'s weights (``build_model``'s parameter order) in a bundle checkpoint's
    state: from the stack while it trains, else as it left the stack; None if not kept."""
    stack = state["bundle"]
    if member in stack["members"]:
        k = list(stack["members"]).index(member)
        return [p[k] for p in stack["params"]]
    found: list[Any] | None = dict(state.get("retired") or {}).get(member)
    return found


def stop_objective(rule: Mapping[str, Any]) -> Objective:
    """The objective of a stop rule ``{"metric", "mode", ...}`` (val_loss, min where absent)."""
    return Objective(str(rule.get("metric", "val_loss")), as_mode(rule.get("mode", "min")))


class MemberStopper:
    """ASHA's rule over the members of a bundle, decided by ``rungs``.

    ``rule`` is ``{"metric", "mode", "max_t", "grace_period", "reduction_factor", "brackets"}``
    (ASHA's defaults where absent), or empty for no early stopping. ``rungs``: the sweep's one
    ``Asha`` shared by every bundle; None builds one for this bundle alone. Member ``k`` is
    ``f"{prefix}{k}"`` in it, so ``prefix`` must tell bundles apart when ``rungs`` is shared
    (``"<bundle trial id>_m"`` gives the members' trial ids in the results).
    """

    def __init__(
        self, rule: Mapping[str, Any], rungs: Rungs | None = None, prefix: str = ""
    ) -> None:
        self.objective = stop_objective(rule)
        self.asha = (
            rungs if rungs is not None or not rule else Asha.from_options(self.objective, rule)
        )
        self.prefix = prefix

    def member_id(self, member: int) -> str:
        return f"{self.prefix}{member}"

    def should_stop(self, member: int, iteration: int, metrics: Mapping[str, Any]) -> bool:
        """ASHA's decision for ``member`` after ``iteration``: True stops it."""
        if self.asha is None:
            return False
        value = metrics.get(self.objective.metric)
        return self.asha.on_result(self.member_id(member), iteration, value) == STOP

    def complete(self, member: int, iteration: int, metrics: Mapping[str, Any]) -> None:
        """A member left the stack: its last result is recorded, as Ray records a completed trial's."""
        if self.asha is not None:
            self.asha.on_complete(
                self.member_id(member), iteration, metrics.get(self.objective.metric)
            )

    def state(self) -> dict[str, Any]:
        return self.asha.state() if self.asha is not None else {}

    def load(self, state: Any) -> None:
        if self.asha is None or not state:
            return
        if isinstance(state, list):  # checkpoints of earlier versions: the rungs alone
            state = {"rungs": state}
        self.asha.load(state)


def train_bundle(
    config: Mapping[str, Any], ctx: TrainContext, rungs: Rungs | None = None, prefix: str = ""
) -> None:
    """Train every member of the bundle in ``config``, reporting each one's curve every epoch.

    ``rungs``/``prefix``: the sweep's shared ASHA and this bundle's member-id prefix (see
    ``MemberStopper``); by default the bundle's own rungs.
    """
    from caviar.trainables.fused import FusedMLP  # torch: here, not on the driver
    from caviar.trainables.loop import Progress, checkpoint_due

    configs = [dict(c) for c in config[MEMBERS_KEY]]
    rule = dict(config.get(STOP_KEY) or {})
    fused = FusedMLP(configs, ctx.data, ctx.device)
    stopper = MemberStopper(rule, rungs, prefix)
    progress = [Progress(int(c["epochs"]), int(c["patience"])) for c in fused.configs]
    fate = [RUNNING] * len(configs)
    state = ctx.restore()
    if state is not None:
        fused.load_state_dict(state["bundle"])
        if rungs is None:  # shared rungs are the sweep's, not this checkpoint's
            stopper.load(state["rungs"])
        for standing, best, since in zip(progress, state["best"], state["since_best"], strict=True):
            standing.best, standing.since_best = best, since
        fate = state["fate"]
    # The weights of members that left the stack (not diverged), for test scoring at the end.
    retired: dict[int, list[Any]] = dict(state.get("retired") or {}) if state is not None else {}
    every = min(int(c["checkpoint_every"]) for c in fused.configs)
    while fused.members:
        results = fused.train_epoch()
        iteration = fused.epoch
        report: dict[str, Any] = {}
        for member, metrics in results.items():
            fate[member] = progress[member].update(iteration, metrics)
            if fate[member] == DIVERGED:
                metrics["diverged"] = True
            elif fate[member] == RUNNING and stopper.should_stop(member, iteration, metrics):
                fate[member] = STOPPED
            if fate[member] != RUNNING:
                stopper.complete(member, iteration, metrics)
            for name, value in metrics.items():
                report[member_key(member, name)] = value
            report[member_key(member, "fate")] = fate[member]
        report[stopper.objective.metric] = _best_value(stopper.objective, results.values())
        report["members_active"] = len(fused.members)
        leaving = [m for m in list(fused.members) if fate[m] != RUNNING]
        for m in leaving:
            if fate[m] != DIVERGED:
                retired[m] = [w.cpu() for w in fused.member_parameters(m)]
        fused.remove(leaving)
        checkpoint = None
        if checkpoint_due(iteration, every, RUNNING if fused.members else FINISHED):
            checkpoint = {
                "bundle": fused.state_dict(),
                "rungs": stopper.state() if rungs is None else {},
                "best": [p.best for p in progress],
                "since_best": [p.since_best for p in progress],
                "fate": fate,
                "retired": retired,
            }
        ctx.report(**report, checkpoint=checkpoint)


def _best_value(objective: Objective, results: Iterable[Mapping[str, Any]]) -> float:
    """The best finite value of the objective's metric among the members' results, else NaN."""
    values = (float(m[objective.metric]) for m in results if objective.metric in m)
    best = objective.best(v for v in values if math.isfinite(v))
    return math.nan if best is None else best
