"""``caviar extend``: the same sweep gets N more trials, its search carried on (the checks, no Ray).

Extending is raising the budget in the recorded spec (``search.num_samples``, and ``budget.trials``
if set, by N, with a history entry) and resuming (``caviar.tune.grow.extend``): Ray Tune restores
the search as it was, and ``ResumableSearch.grow`` raises its totals. Random search continues its seeded stream (trial ``i``
gets the config it would have had in a sweep planned N larger), TPE's restored study has seen every
earlier result, coarse-to-fine adds rounds zoomed on all trials so far. Nothing that finished runs
again, and a kill -9 during the extension is continued by ``caviar resume`` like any sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caviar.errors import SpecError
from caviar.results.store import SweepStore
from caviar.search.plan import EXTEND, planned_count
from caviar.search.snapshot import has_tune_state
from caviar.spec.history import recorded, with_entry
from caviar.spec.model import SweepSpec
from caviar.spec.parse import parse_spec


@dataclass(frozen=True)
class Extension:
    """A checked extension, ready to run: nothing is written until ``extend`` runs it."""

    sweep_uri: str
    store: SweepStore
    raw: dict[str, Any]  # the recorded spec, budget raised, history entry added
    spec: SweepSpec
    trials: int
    time_s: float | None


def check_extend(sweep_uri: str, trials: int, time_s: float | None = None) -> Extension:
    """Every check of ``caviar extend`` that needs no Ray; SpecError names what is wrong."""
    if trials < 1:
        raise SpecError("--trials", f"must be >= 1, got {trials}")
    if time_s is not None and time_s <= 0:
        raise SpecError("--time", f"must be > 0 seconds, got {time_s:g}")
    store, raw = recorded(sweep_uri)
    try:
        spec = parse_spec(raw)
    except SpecError as error:
        raise SpecError(
            "SWEEP_DIR", f"{sweep_uri}: its recorded spec no longer parses: {error}"
        ) from None
    _check_extendable(spec)
    refuse_if_running(store, sweep_uri)
    if not has_tune_state(store):
        raise SpecError(
            "SWEEP_DIR",
            f"{sweep_uri} has no Ray Tune state to continue from; `caviar resume` it first",
        )
    search = dict(raw.get("search") or {})
    before = int(search.get("num_samples") or planned_count(spec))
    search["num_samples"] = before + trials
    grown = {**raw, "search": search}
    if spec.max_trials is not None:
        grown["budget"] = {**dict(raw["budget"]), "trials": spec.max_trials + trials}
    entry: dict[str, Any] = {"trials": trials, "num_samples": [before, before + trials]}
    if time_s is not None:
        entry["time_s"] = time_s
    grown = with_entry(grown, EXTEND, **entry)
    return Extension(sweep_uri, store, grown, parse_spec(grown), trials, time_s)


def _check_extendable(spec: SweepSpec) -> None:
    algorithm = spec.search.algorithm
    if algorithm == "grid":
        raise SpecError(
            "search.algorithm", "a grid sweep has run its grid; start a new sweep with more points"
        )
    if spec.scheduler.name == "pbt":
        raise SpecError(
            "scheduler.name", "a pbt sweep cannot be extended (its population is fixed)"
        )
    if spec.confirm is not None:
        raise SpecError(
            "confirm", "a sweep that confirmed its winners cannot be extended yet; start a new one"
        )
    if spec.fuse is not None:
        raise SpecError("fuse", "a sweep of fused trials cannot be extended yet")
    if spec.search.num_samples is None:
        raise SpecError(
            "--trials",
            "this sweep samples until its time budget ends and has no trial count to raise: "
            "`caviar resume` it to sample for another budget.time_s",
        )


def refuse_if_running(store: SweepStore, sweep_uri: str) -> None:
    """SweepLocked (one line, exit 2) if another driver holds the sweep: growing a running sweep
    from a second driver would run two Tune loops on one experiment. The lock is only probed
    here, before Ray starts; ``extend`` and ``continue`` hold it while they run."""
    from caviar.results.lock import sweep_lock

    with sweep_lock(store, "extend"):
        pass
