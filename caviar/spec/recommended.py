"""The recommended mode: what a spec with no ``search:`` and no ``scheduler:`` runs.

It is TPE (Optuna's ``TPESampler`` through caviar's ``tpe`` searcher: ``n_startup_trials``
random trials first, then TPE models the results) with ASHA (``max_t`` the space's most
``epochs``, ``grace_period`` a tenth of it, at least 1, ``reduction_factor`` 3). The evidence so
far (README, "The recommended mode"): in benchmarks/RESULTS.md's time-to-target run on digits,
TPE + ASHA had the highest mean best val_accuracy of the modes (within the spread: the problem
saturates) in the shortest wall time; on MNIST-1D (issue 18) Optuna's TPE + Hyperband pruning
beat caviar's random + ASHA at about equal wall time. ``make bench`` (benchmarks/mnist1d.py)
compares it with every other mode and peer; it has not run yet.

A spec that names either section keeps its meaning (``search:`` alone: fifo; ``scheduler:``
alone: random). Fused trials (``fuse:``) are planned up front and drawn by random search, so
with ``fuse:`` the recommended search is ``random`` (the scheduler stays ASHA).

``RECOMMENDED`` is the one definition; ``recommended_sections`` fills it in for one space, as the
raw sections a person would write, so the parser checks them like any other spec and sweep.yaml
shows them in full. benchmarks/modes.py imports ``RECOMMENDED`` to name the mode it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from caviar.spec.model import DEFAULT_MAX_T


@dataclass(frozen=True)
class RecommendedMode:
    """The recommended search and scheduler, and how ASHA's rungs follow the trainable's epochs."""

    algorithm: str = "tpe"
    n_startup_trials: int = 10  # Optuna's default: random trials before TPE models the results
    scheduler: str = "asha"
    reduction_factor: int = 3  # Optuna's HyperbandPruner and the digits benchmark's ASHA
    grace_fraction: int = 10  # grace_period = max_t // 10 (2 at 24 epochs, as the benchmark)
    fused_algorithm: str = "random"  # fused bundles are drawn by random search

    @property
    def label(self) -> str:
        """The mode's name as tables show it: ``TPE + ASHA``."""
        return f"{self.algorithm.upper()} + {self.scheduler.upper()}"

    def grace_period(self, max_t: int) -> int:
        """ASHA's first rung: a tenth of ``max_t``, at least 1."""
        return max(1, max_t // self.grace_fraction)


RECOMMENDED = RecommendedMode()


def recommended_sections(
    max_iterations: int | None, fused: bool = False, mode: RecommendedMode = RECOMMENDED
) -> dict[str, dict[str, Any]]:
    """The ``search:`` and ``scheduler:`` sections of the recommended mode for a space whose
    trials run at most ``max_iterations`` (None: unbounded, then caviar's ``DEFAULT_MAX_T``)."""
    max_t = max_iterations or DEFAULT_MAX_T
    search: dict[str, Any] = {
        "algorithm": mode.algorithm,
        "n_startup_trials": mode.n_startup_trials,
    }
    if fused:
        search = {"algorithm": mode.fused_algorithm}
    scheduler = {
        "name": mode.scheduler,
        "max_t": max_t,
        "grace_period": mode.grace_period(max_t),
        "reduction_factor": mode.reduction_factor,
    }
    return {"search": search, "scheduler": scheduler}


def names_a_mode(raw: Mapping[str, Any]) -> bool:
    """Whether a spec chooses its own search or scheduler (a null section chooses nothing)."""
    return raw.get("search") is not None or raw.get("scheduler") is not None
