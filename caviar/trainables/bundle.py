"""A bundle of fused mlp trials running as one Ray Tune trial, each member still its own trial.

The Tune trial's config is ``{MEMBERS_KEY: [config, ...], STOP_KEY: {...}}``. Each epoch reports one
Tune result holding every active member's metrics under ``member:<k>:<name>`` (``member_metrics``
splits them again on the driver), plus the sweep metric of the best member, which is what Tune sees.

A member leaves the stack when it has trained its ``epochs``, when it diverges, when it runs out of
``patience``, or when the sweep's early-stopping rule cuts it: ASHA's rungs, applied by Ray Tune's
own bracket bookkeeping (``async_hyperband._Bracket``) to the members of this bundle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ray.tune.schedulers.async_hyperband import _Bracket

from caviar.trainables.context import TrialContext
from caviar.trainables.fused import FusedMLP

MEMBERS_KEY = "__members__"
STOP_KEY = "__stop__"
MEMBER_PREFIX = "member:"

# A member's fate, reported with its last result.
RUNNING, FINISHED, STOPPED, DIVERGED = "running", "finished", "stopped", "diverged"


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


@dataclass
class _Member:
    """What stands in for a trial in Ray's bracket bookkeeping: it needs only a ``trial_id``."""

    trial_id: str


class MemberStopper:
    """ASHA's rung rule over the members of a bundle, decided by Ray Tune's own ``_Bracket``.

    ``rule`` is ``{"metric", "mode", "max_t", "grace_period", "reduction_factor", "brackets"}``
    (ASHA's defaults where absent), or empty for no early stopping. Members are spread over the
    brackets round-robin, as ASHA spreads trials (there by a global RNG, here deterministically).
    """

    def __init__(self, rule: Mapping[str, Any]) -> None:
        self.rule = dict(rule)
        self.brackets: list[_Bracket] = []
        if rule:
            self.sign = 1.0 if rule.get("mode", "min") == "max" else -1.0
            self.max_t = int(rule["max_t"])
            self.brackets = [
                _Bracket(
                    int(rule.get("grace_period", 1)),
                    self.max_t,
                    float(rule.get("reduction_factor", 4)),
                    s,
                )
                for s in range(int(rule.get("brackets", 1)))
            ]

    def should_stop(self, member: int, iteration: int, metrics: Mapping[str, Any]) -> bool:
        """ASHA's decision for ``member`` after ``iteration``: True stops it."""
        if not self.brackets:
            return False
        if iteration >= self.max_t:
            return True
        value = metrics.get(self.rule["metric"])
        if not isinstance(value, int | float) or not math.isfinite(value):
            return False
        bracket = self.brackets[member % len(self.brackets)]
        action = bracket.on_result(
            _Member(str(member)),  # type: ignore[arg-type]  # it reads only trial_id
            iteration,
            self.sign * float(value),
        )
        return bool(action == "STOP")

    def state(self) -> list[list[dict[str, float]]]:
        return [[dict(recorded) for _, recorded in b._rungs] for b in self.brackets]

    def load(self, state: list[list[dict[str, float]]]) -> None:
        for bracket, rungs in zip(self.brackets, state, strict=True):
            for (_, recorded), saved in zip(bracket._rungs, rungs, strict=True):
                recorded.clear()
                recorded.update(saved)


def train_bundle(config: Mapping[str, Any], ctx: TrialContext) -> None:
    """Train every member of the bundle in ``config``, reporting each one's curve every epoch."""
    configs = [dict(c) for c in config[MEMBERS_KEY]]
    rule = dict(config.get(STOP_KEY) or {})
    fused = FusedMLP(configs, ctx.data, ctx.device)
    stopper = MemberStopper(rule)
    best = [math.inf] * len(configs)
    since_best = [0] * len(configs)
    fate = [RUNNING] * len(configs)
    state = ctx.restore()
    if state is not None:
        fused.load_state_dict(state["bundle"])
        stopper.load(state["rungs"])
        best, since_best, fate = state["best"], state["since_best"], state["fate"]
    metric = str(rule.get("metric", "val_loss"))
    sign = -1.0 if rule.get("mode", "min") == "max" else 1.0
    every = max(1, min(int(c.get("checkpoint_every", 1)) for c in configs))

    while fused.members:
        results = fused.train_epoch()
        iteration = fused.epoch
        report: dict[str, Any] = {}
        for member, metrics in results.items():
            cfg = fused.configs[member]
            if not (math.isfinite(metrics["train_loss"]) and math.isfinite(metrics["val_loss"])):
                metrics["diverged"] = True
                fate[member] = DIVERGED
            else:
                if metrics["val_loss"] < best[member]:
                    best[member], since_best[member] = metrics["val_loss"], 0
                else:
                    since_best[member] += 1
                patience = int(cfg["patience"])
                if iteration >= int(cfg["epochs"]) or (patience and since_best[member] >= patience):
                    fate[member] = FINISHED
                elif stopper.should_stop(member, iteration, metrics):
                    fate[member] = STOPPED
            for name, value in metrics.items():
                report[member_key(member, name)] = value
            report[member_key(member, "fate")] = fate[member]
        values = [
            sign * float(m[metric])
            for m in results.values()
            if isinstance(m.get(metric), int | float) and math.isfinite(m[metric])
        ]
        report[metric] = sign * min(values) if values else math.nan
        report["members_active"] = len(fused.members)
        fused.remove(m for m in list(fused.members) if fate[m] != RUNNING)
        state = None
        if not fused.members or iteration % every == 0:
            state = {
                "bundle": fused.state_dict(),
                "rungs": stopper.state(),
                "best": best,
                "since_best": since_best,
                "fate": fate,
            }
        ctx.report(**report, checkpoint=state)
