"""``caviar extend`` run: the raised budget recorded, the sweep resumed (checks: ``search.grow``)."""

from __future__ import annotations

import logging

from caviar.search.grow import Extension
from caviar.spec.history import write_recorded
from caviar.tune.run import SweepOutcome, resume_sweep

log = logging.getLogger(__name__)


def extend(extension: Extension, show_progress: bool = True) -> SweepOutcome:
    """Raise the recorded budget, then resume the sweep (Ray must be connected)."""
    from caviar.results.lock import sweep_lock

    with sweep_lock(extension.store, "extend"):  # re-entrant: resume_sweep takes it again
        write_recorded(extension.store, extension.raw)
        log.info("extending %s by %d trials", extension.sweep_uri, extension.trials)
        return resume_sweep(extension.sweep_uri, show_progress, time_budget_s=extension.time_s)
