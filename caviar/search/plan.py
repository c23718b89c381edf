"""How many trials a sweep starts, and the plan of a grown sweep (see ``caviar.search.grow``).

``caviar extend`` raises ``search.num_samples`` (and ``budget.trials``) by N and records N in the
history; coarse-to-fine's original rounds stay as they were and each extension adds rounds of its
own (``rounds`` of them, or fewer to keep 2 trials a round), zoomed on every trial so far.
"""

from __future__ import annotations

from dataclasses import dataclass

from caviar.search.streams import round_sizes, total_trials
from caviar.spec.history import entries
from caviar.spec.model import SweepSpec

EXTEND = "extend"


@dataclass(frozen=True)
class SearchPlan:
    """How many trials a (grown) search makes in all, and coarse-to-fine's round sizes."""

    total: int
    rounds: tuple[int, ...] | None = None


def search_plan(spec: SweepSpec) -> SearchPlan | None:
    """The grown plan of an extended sweep; None when it was never extended."""
    added = [int(e["trials"]) for e in entries(dict(spec.raw), EXTEND)]
    if not added:
        return None
    search = spec.search
    count = search.num_samples
    if count is None:  # sampling until the time budget ends: `caviar extend` refuses it
        return None
    total = count
    if spec.max_trials is not None:
        total = min(total, spec.max_trials)
    if search.algorithm != "coarse_to_fine":
        return SearchPlan(total)
    first = count - sum(added)
    rounds = round_sizes(first, min(search.rounds, first))
    for n in added:  # at least 2 trials a round, as a spec's rounds have
        rounds += round_sizes(n, max(1, min(search.rounds, n // 2)))
    return SearchPlan(total, tuple(rounds))


def planned_count(spec: SweepSpec) -> int:
    """``search.num_samples`` of a search that has one (pbt, grid, coarse_to_fine, fused and
    confirmed sweeps always do: ``spec.rules.until_time_budget``)."""
    if spec.search.num_samples is None:
        raise ValueError(f"{spec.search.algorithm} search without num_samples: it has no plan")
    return spec.search.num_samples


def pbt_samples(spec: SweepSpec) -> int:
    """Tune's num_samples under pbt: per grid point, or the random draws (budget.trials caps them)."""
    if spec.max_trials is not None and spec.search.algorithm == "random":
        return min(planned_count(spec), spec.max_trials)
    return planned_count(spec)


def planned_trials(spec: SweepSpec) -> int | None:
    """How many trials the whole sweep starts: its draws, the confirmations, capped by budget;
    None when it samples until its time budget ends."""
    if spec.scheduler.name == "pbt":
        return total_trials(spec.space, spec.search.algorithm, pbt_samples(spec))
    total = total_trials(spec.space, spec.search.algorithm, spec.search.num_samples)
    if total is None:
        return None
    if spec.confirm is not None:
        total += spec.confirm.top_k * spec.confirm.seeds
    if spec.max_trials is not None:
        total = min(total, spec.max_trials)
    return total
