"""The trials a grown sweep makes in all, from its recorded spec and history (see ``grow``).

``caviar extend`` raises ``search.num_samples`` (and ``budget.trials``) by N and records N in the
history; coarse-to-fine's original rounds stay as they were and each extension adds rounds of its
own (``rounds`` of them, or fewer to keep 2 trials a round), zoomed on every trial so far.
"""

from __future__ import annotations

from caviar.orchestrator.history import entries
from caviar.orchestrator.searchers import SearchPlan, round_sizes
from caviar.orchestrator.spec import SweepSpec

EXTEND = "extend"


def search_plan(spec: SweepSpec) -> SearchPlan | None:
    """The grown plan of an extended sweep; None when it was never extended."""
    added = [int(e["trials"]) for e in entries(dict(spec.raw), EXTEND)]
    if not added:
        return None
    search = spec.search
    total = search.num_samples
    if spec.max_trials is not None:
        total = min(total, spec.max_trials)
    if search.algorithm != "coarse_to_fine":
        return SearchPlan(total)
    first = search.num_samples - sum(added)
    rounds = round_sizes(first, min(search.rounds, first))
    for n in added:  # at least 2 trials a round, as a spec's rounds have
        rounds += round_sizes(n, max(1, min(search.rounds, n // 2)))
    return SearchPlan(total, tuple(rounds))
