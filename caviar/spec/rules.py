"""Cross-field rules: combinations of sections that each parse fine alone but cannot run together.

Each rule raises one SpecError naming the key that should change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from caviar.errors import SpecError, shown
from caviar.search_spaces import Space
from caviar.spec.extras import TRACKER_OPTIONS
from caviar.spec.model import (
    CoarseToFineSearch,
    ConfirmSpec,
    SchedulerSpec,
    SearchSpec,
)


def check_search(search: SearchSpec, space: Space) -> None:
    """``coarse_to_fine`` needs 2 trials per round and a searched parameter to zoom in on."""
    if not isinstance(search, CoarseToFineSearch) or search.num_samples is None:
        return
    if search.num_samples < 2 * search.rounds:
        raise SpecError(
            "search.num_samples",
            f"coarse_to_fine needs at least 2 trials per round "
            f"({2 * search.rounds} for {search.rounds} rounds), got {search.num_samples}",
        )
    if not space.searched:
        raise SpecError("space", "coarse_to_fine needs at least one searched parameter")


# The searches that can draw without a plan: each config comes from the seeded stream or the study.
OPEN_ENDED = ("random", "tpe", "nsga2")


def until_time_budget(
    raw_search: Any,
    search: SearchSpec,
    scheduler: SchedulerSpec,
    time_budget_s: float | None,
    max_trials: int | None,
    confirm: ConfirmSpec | None,
    fuse: int | str | None,
) -> bool:
    """Whether the search samples until the time budget ends (Tune's ``num_samples=-1``): a time
    budget and no trial count (neither ``search.num_samples`` nor ``budget.trials``).

    Only searches that draw without a plan do: ``grid`` and ``coarse_to_fine`` plan their trials,
    pbt its population, ``fuse:`` its bundles, and ``confirm:`` starts once the search has ended;
    those keep ``num_samples``' default.
    """
    given = isinstance(raw_search, Mapping) and raw_search.get("num_samples") is not None
    return (
        time_budget_s is not None
        and max_trials is None
        and not given
        and search.algorithm in OPEN_ENDED
        and scheduler.name != "pbt"
        and confirm is None
        and fuse is None
    )


def check_metrics_not_in_space(metrics: Sequence[str], space: Space) -> None:
    """A metric named like a parameter would be two columns of one name in Parquet."""
    for objective in metrics:
        if objective in space:
            raise SpecError(
                "metric", f"{shown(objective)} is also a parameter of the space; rename one"
            )


def check_pbt(
    search: SearchSpec,
    scheduler: SchedulerSpec,
    confirm: ConfirmSpec | None,
    max_trials: int | None,
) -> None:
    """Ray's PBT takes no searcher: it needs Tune's own variant generator (random or grid)."""
    if scheduler.name != "pbt":
        return
    if search.algorithm not in ("random", "grid"):
        raise SpecError(
            "scheduler.name",
            f"pbt explores by itself and takes no searcher: use search.algorithm random or grid "
            f"with it, got {search.algorithm}",
        )
    if confirm is not None:
        raise SpecError("confirm", "confirm re-trains through a searcher, which pbt does not take")
    if max_trials is not None and search.algorithm == "grid":
        raise SpecError(
            "budget.trials",
            "pbt with a grid runs every grid point num_samples times: it cannot stop at "
            f"{max_trials} trials; lower search.num_samples or use search.algorithm random",
        )


def check_fuse(
    fuse: int | str | None,
    search: SearchSpec,
    scheduler: SchedulerSpec,
    confirm: ConfirmSpec | None,
) -> None:
    """Fused bundles run under fifo or asha, drawn by random or grid, without confirm."""
    if fuse is None:
        return
    if scheduler.name not in ("fifo", "asha"):
        raise SpecError(
            "fuse", f"fused trials work with scheduler fifo or asha, got {scheduler.name!r}"
        )
    if search.algorithm not in ("random", "grid"):
        raise SpecError(
            "fuse",
            f"fused trials work with search algorithm random or grid, got {search.algorithm!r}",
        )
    if confirm is not None:
        raise SpecError("fuse", "fused trials do not combine with confirm: drop one of them")


def check_trackers(
    loggers: Sequence[str], storage: str, fuse: object, options: Mapping[str, Any]
) -> None:
    """Combinations the trackers cannot log: fused bundles, TensorBoard files on an object store."""
    live = [name for name in loggers if name in TRACKER_OPTIONS]
    if live and fuse is not None:
        raise SpecError(
            "loggers",
            f"{live[0]} logs Tune trials, which are bundles of configs under fuse: drop fuse, or "
            f"run `caviar export {live[0]} SWEEP_DIR` after the sweep",
        )
    if (
        "tensorboard" in loggers
        and "://" in storage
        and "logdir" not in options.get("tensorboard", {})
    ):
        raise SpecError(
            "tensorboard.logdir",
            f"TensorBoard writes local files: give a local logdir (storage is {storage})",
        )
