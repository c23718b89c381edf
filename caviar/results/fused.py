"""Results of fused sweeps: each member of a bundle lands in Parquet as its own trial.

A bundle is one tuner trial whose results carry every active member's metrics
(``caviar.trainables.bundle``). These functions hand each member to the ``ResultsWriter`` as a
trial of its own, ``<bundle trial id>_m<k>`` with the member's config, so trials.parquet gets one
row per member and curves/ one row per member and iteration, exactly as unfused trials write them.
Single (unfused) trials of the same sweep pass straight through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from caviar.results.reported import parse_result, user_metrics
from caviar.results.status import ENDED, TERMINATED
from caviar.results.writer import KnownTrial, ResultsWriter
from caviar.trainables.bundle import MEMBERS_KEY, RUNNING, STOPPED, member_metrics


def member_id(bundle_id: str, position: int) -> str:
    """The trial id of member ``position`` of a bundle: distinct, and traceable to its bundle."""
    return f"{bundle_id}_m{position}"


def is_bundle(config: Mapping[str, Any]) -> bool:
    return MEMBERS_KEY in config


def members(trial_id: str, config: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(member id, member config) of each member of a bundle; the trial itself if single."""
    configs = config.get(MEMBERS_KEY) or []
    if not configs:
        return [(trial_id, dict(config))]
    return [(member_id(trial_id, k), dict(c)) for k, c in enumerate(configs)]


def start(writer: ResultsWriter, trial_id: str, config: Mapping[str, Any]) -> None:
    for member, own in members(trial_id, config):
        writer.start(member, own)


def report(
    writer: ResultsWriter, trial_id: str, config: Mapping[str, Any], result: Mapping[str, Any]
) -> None:
    """One bundle result: a result of each active member; a member the bundle ended, ended."""
    whole = parse_result(result)
    if not is_bundle(config):
        writer.report(trial_id, config, whole)
        return
    bundle = members(trial_id, config)
    for position, metrics in sorted(member_metrics(dict(result)).items()):
        member, own = bundle[position]
        fate = metrics.pop("fate", RUNNING)
        reported = replace(
            whole,
            metrics=user_metrics(metrics),
            node_id=None,
            done=fate == STOPPED,  # as the tuner marks the result a scheduler stopped on
        )
        writer.report(member, own, reported)
        if fate != RUNNING:
            writer.complete(member, own)


def unfinished(
    writer: ResultsWriter, trial_id: str, config: Mapping[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """The members still running when their bundle ends (or the trial itself if single)."""
    if not is_bundle(config):
        return [(trial_id, dict(config))]
    return [
        (member, own)
        for member, own in members(trial_id, config)
        if _status(writer, member) != TERMINATED
    ]


def complete(
    writer: ResultsWriter,
    trial_id: str,
    config: Mapping[str, Any],
    stop_reason: str | None = None,
    user_stopped: bool = False,
) -> None:
    if not is_bundle(config):
        writer.complete(trial_id, config, stop_reason, user_stopped)
        return
    for member, own in unfinished(writer, trial_id, config):
        writer.complete(member, own)


def halt(writer: ResultsWriter, trial_id: str, config: Mapping[str, Any]) -> None:
    """The tuner stopped the bundle (the time budget ran out): its running members are STOPPED."""
    for member, own in unfinished(writer, trial_id, config):
        writer.halt(member, own)


def fail(writer: ResultsWriter, trial_id: str, config: Mapping[str, Any], error: str) -> None:
    for member, own in unfinished(writer, trial_id, config):
        writer.fail(member, own, error)


def expand(writer: ResultsWriter, trials: Sequence[KnownTrial]) -> list[KnownTrial]:
    """The tuner's trials at the sweep's end with each bundle replaced by its members: a member
    that ended keeps its own status, the others take the bundle's."""
    writer.load()
    expanded: list[KnownTrial] = []
    for trial in trials:
        if not is_bundle(trial.config):
            expanded.append(trial)
            continue
        for member, own in members(trial.trial_id, trial.config):
            status = _status(writer, member)
            final = status if status in ENDED else trial.status
            expanded.append(KnownTrial(member, own, str(final)))
    return expanded


def ended_bundles(trials: Sequence[KnownTrial], cut_short: set[str]) -> set[str]:
    """The bundles that ended for good (their checkpoints live under the bundle's id)."""
    return {
        trial.trial_id
        for trial in trials
        if is_bundle(trial.config)
        and trial.status in ENDED
        and not any(m in cut_short for m, _ in members(trial.trial_id, trial.config))
    }


def _status(writer: ResultsWriter, trial_id: str) -> str | None:
    record = writer.records.get(trial_id)
    return None if record is None else record.status
