"""Results of fused sweeps: each member of a bundle lands in Parquet as its own trial.

A bundle is one Ray Tune trial whose results carry every active member's metrics
(``caviar.trainables.bundle``). This callback hands each member to ``ParquetResultsCallback`` as a
trial of its own, ``<bundle trial id>_m<k>`` with the member's config, so trials.parquet gets one
row per member and curves/ one row per member and iteration, exactly as unfused trials write them.
Single (unfused) trials of the same sweep pass straight through.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from ray.tune.experiment import Trial

from caviar.results.callback import ParquetResultsCallback
from caviar.trainables.bundle import MEMBERS_KEY, RUNNING, STOPPED, member_metrics


@dataclass
class MemberTrial:
    """One member of a bundle, shaped like the parts of a Tune ``Trial`` the callback reads."""

    trial_id: str
    config: dict[str, Any]
    bundle: Trial = field(repr=False)
    status: str = Trial.RUNNING

    def get_error(self) -> Any:
        return self.bundle.get_error()


def member_id(bundle_id: str, position: int) -> str:
    """The trial id of member ``position`` of a bundle: distinct, and traceable to its bundle."""
    return f"{bundle_id}_m{position}"


def members(trial: Trial) -> list[Trial]:
    """The members of a bundle trial (none for a single trial), each passed off as a Trial."""
    configs = trial.config.get(MEMBERS_KEY) or []
    return [
        cast(Trial, MemberTrial(member_id(trial.trial_id, k), dict(config), trial))
        for k, config in enumerate(configs)
    ]


class FusedResultsCallback(ParquetResultsCallback):
    """``ParquetResultsCallback`` with bundles split into their members."""

    def on_trial_start(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        for member in members(trial) or [trial]:
            super().on_trial_start(iteration, trials, member, **info)

    def on_trial_result(
        self, iteration: int, trials: list[Trial], trial: Trial, result: dict[str, Any], **info: Any
    ) -> None:
        bundle = members(trial)
        if not bundle:
            super().on_trial_result(iteration, trials, trial, result, **info)
            return
        for position, metrics in sorted(member_metrics(result).items()):
            member = bundle[position]
            fate = metrics.pop("fate", RUNNING)
            own = {
                **metrics,
                "training_iteration": result["training_iteration"],
                "time_total_s": result.get("time_total_s", math.nan),
                "node_ip": result.get("node_ip"),
                "done": fate == STOPPED,  # as Tune marks the result a scheduler stopped on
            }
            super().on_trial_result(iteration, trials, member, own, **info)
            if fate != RUNNING:
                super().on_trial_complete(iteration, trials, member, **info)

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        for member in self._unfinished(trial):
            super().on_trial_complete(iteration, trials, member, **info)

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        for member in self._unfinished(trial):
            super().on_trial_error(iteration, trials, member, **info)

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        self._load()
        expanded: list[Any] = []
        for trial in trials:
            bundle = members(trial)
            if not bundle:
                expanded.append(trial)
                continue
            for member in bundle:
                record = self._records.get(member.trial_id)
                final = record is not None and record.status in (Trial.TERMINATED, Trial.ERROR)
                member.status = record.status if final and record else trial.status
                expanded.append(member)
        cut_short = self._cut_short()
        super().on_experiment_end(expanded, **info)
        # Checkpoints live under the bundle's id, not its members': prune the bundles that ended.
        ended = {
            trial.trial_id
            for trial in trials
            if members(trial)
            and trial.status in (Trial.TERMINATED, Trial.ERROR)
            and not any(m.trial_id in cut_short for m in members(trial))
        }
        self.store.prune_checkpoints(ended)

    def _unfinished(self, trial: Trial) -> list[Trial]:
        """The members still running when their bundle ends (or the trial itself if single)."""
        bundle = members(trial)
        if not bundle:
            return [trial]
        return [m for m in bundle if _status(self._records.get(m.trial_id)) != Trial.TERMINATED]


def _status(record: Any) -> str | None:
    return None if record is None else str(record.status)


def is_bundle(config: Mapping[str, Any]) -> bool:
    return MEMBERS_KEY in config
