"""One ASHA for a whole fused sweep: every bundle member and every unfused trial in the same rungs.

Fused bundles decide ASHA's cuts for their members themselves, inside the bundle
(``caviar.trainables.bundle``), so that a cut member leaves the stack at once. Here those
decisions are the sweep's, not the bundle's: one ``caviar.schedule.Asha`` lives in a named Ray
actor (``SweepRungs``; the name comes from the sweep's URI, ``actor_name``), bundles reach it
through ``RungsProxy`` (the ``Rungs`` protocol), and the driver's scheduler
(``caviar.tune.fusion.SharedASHA``) sends the results of the sweep's unfused trials to it too. So
which members are cut does not depend on K or on which bundle a config landed in.

The actor is the driver's (it dies with it) and holds no state of its own worth saving: the
results store is the truth. Whenever a driver starts (a new run or a resume), the scheduler
creates the actor afresh and rebuilds its rungs from the curves stored for the trials Tune knows
(``Asha.replay``), each rung's records in Tune's trial order (``stored_rows``). A trial that then
restarts from an earlier iteration is decided again at the rungs it reaches a second time, against
the records that came before its own (``Bracket.decide_again``).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import ray

from caviar.objective import Objective, as_mode
from caviar.schedule import Asha

log = logging.getLogger(__name__)

__all__ = ["ACTOR_PREFIX", "RungsProxy", "SweepRungs", "actor_name", "start_rungs", "stop_rungs"]

ACTOR_PREFIX = "caviar-asha-"
_MEMBER = re.compile(r"^(?P<bundle>.+)_m(?P<position>\d+)$")  # caviar.results.fused.member_id


def actor_name(sweep_uri: str) -> str:
    """The name of a sweep's rungs actor: derived from its URI, so every driver of it agrees."""
    return ACTOR_PREFIX + hashlib.sha256(sweep_uri.encode()).hexdigest()[:16]


class SweepRungs:
    """The sweep's ``Asha`` (a Ray actor: ``start_rungs``); calls are served one at a time."""

    def __init__(self, metric: str, mode: str, options: Mapping[str, Any]) -> None:
        self.objective = Objective(metric, as_mode(mode))
        self.options = dict(options)
        self.asha = Asha.from_options(self.objective, self.options)

    def on_result(self, trial_id: str, iteration: float, value: Any) -> str:
        return self.asha.on_result(trial_id, iteration, value)

    def on_complete(self, trial_id: str, iteration: float, value: Any) -> None:
        self.asha.on_complete(trial_id, iteration, value)

    def replay(self, rows: Sequence[tuple[str, float, Any]], order: Sequence[str]) -> int:
        """Start again from the stored ``rows`` (see ``Asha.replay``); how many were replayed."""
        self.asha = Asha.from_options(self.objective, self.options)
        self.asha.replay(rows, order)
        return len(rows)

    def state(self) -> dict[str, Any]:
        return self.asha.state()

    def load(self, state: Mapping[str, Any]) -> None:
        self.asha.load(state)


class RungsProxy:
    """The ``Rungs`` a bundle decides by: each call goes to the sweep's actor and waits for it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._actor: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"name": self.name}  # a handle is looked up again where it is unpickled

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.name, self._actor = state["name"], None

    def _call(self, method: str, *args: Any) -> Any:
        if self._actor is None:
            try:
                self._actor = ray.get_actor(self.name)
            except ValueError:
                raise RuntimeError(
                    f"the sweep's ASHA ({self.name}) is not running: "
                    "fused bundles under asha run inside a caviar sweep"
                ) from None
        return ray.get(getattr(self._actor, method).remote(*args))

    def on_result(self, trial_id: str, iteration: float, value: Any) -> str:
        return str(self._call("on_result", trial_id, iteration, value))

    def on_complete(self, trial_id: str, iteration: float, value: Any) -> None:
        self._call("on_complete", trial_id, iteration, value)

    def replay(self, rows: Sequence[tuple[str, float, Any]], order: Sequence[str]) -> int:
        """Start the rungs again from stored rows (``SweepRungs.replay``)."""
        return int(self._call("replay", list(rows), list(order)))

    def state(self) -> dict[str, Any]:
        return dict(self._call("state"))

    def load(self, state: Mapping[str, Any]) -> None:
        self._call("load", dict(state))


def start_rungs(name: str, metric: str, mode: str, options: Mapping[str, Any]) -> RungsProxy:
    """Create the sweep's rungs actor afresh (one left by an earlier fit in this process goes)."""
    stop_rungs(name)
    actor = ray.remote(num_cpus=0, max_restarts=0)(SweepRungs)
    proxy = RungsProxy(name)
    proxy._actor = actor.options(name=name).remote(metric, mode, dict(options))  # type: ignore[attr-defined]
    return proxy


def stop_rungs(name: str) -> None:
    """Kill the sweep's rungs actor if it runs (the sweep's fit ended)."""
    try:
        actor = ray.get_actor(name)
    except ValueError:
        return
    ray.kill(actor)


def owner(trial_id: str, known: Mapping[str, int]) -> tuple[int, int] | None:
    """(Tune's position of the trial, member position) of a stored trial id; None if unknown."""
    if trial_id in known:
        return known[trial_id], -1
    match = _MEMBER.match(trial_id)
    if match is None or match["bundle"] not in known:
        return None
    return known[match["bundle"]], int(match["position"])


def stored_rows(
    sweep_uri: str, metric: str, trials: Sequence[str]
) -> tuple[list[tuple[str, float, Any]], list[str]]:
    """The stored ``(trial_id, iteration, value)`` rows of the metric for ``trials`` (Tune's trial
    ids, in Tune's order) and their bundles' members, and the trial ids in that order.

    Rows of trials Tune does not know (started after the snapshot a resume restarted from; the
    writer drops them at the sweep's end) are left out: they never happened, for this sweep.
    """
    from caviar.results.store import SweepStore

    try:
        curves = SweepStore.at(sweep_uri).read_curves([metric]).to_pylist()
    except FileNotFoundError:
        return [], []
    known = {trial_id: i for i, trial_id in enumerate(trials)}
    ranked: dict[str, tuple[int, int]] = {}
    rows = []
    for row in curves:  # a null metric (not reported that iteration) decides nothing, as live
        trial_id = str(row["trial_id"])
        place = ranked.get(trial_id) or owner(trial_id, known)
        if place is None:
            continue
        ranked[trial_id] = place
        rows.append((trial_id, float(row["iteration"]), row.get(metric)))
    order = sorted(ranked, key=lambda trial_id: ranked[trial_id])
    return rows, order
