"""Bringing a restored searcher in step with the restored trial list (a torn Tune snapshot).

Ray Tune's snapshot is several files that a background thread uploads one by one (see
``caviar.tune.resumable.ResumableSearch``), so after a kill -9 the searcher's state can be behind or ahead of the trial
list. The trial list is the truth. Random and grid search continue at its length; this module does
the same for the searchers that keep per-trial state:

- TPE (Optuna through Ray's OptunaSearch), state behind: trials it never saw would fail with a
  KeyError at their first report on every resume. Each gets a blank Optuna trial that its
  reports and its end are told to (TPE learns their values, not their parameters).
- ``confirm:``, state ahead: trials it counts as running that the list lost (they are made again)
  kept the confirmations waiting forever; state behind: trials it never saw were not waited for.
  Its live set, configs and best values are rebuilt from the list, and the confirmations still to
  start are those the list does not hold yet.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ray.tune.search import ConcurrencyLimiter, Searcher

from caviar.objective import Objective, as_mode
from caviar.search.streams import SEED_KEY, confirmations
from caviar.trainables.adapter import CONFIRM_KEY
from caviar.tune import compat

log = logging.getLogger(__name__)
FINISHED = ("TERMINATED", "ERROR")


@dataclass(frozen=True)
class RestoredTrial:
    """One trial of the restored trial list: its id, Tune status and config."""

    trial_id: str
    status: str
    config: dict[str, Any]

    @property
    def confirmation(self) -> bool:
        return CONFIRM_KEY in self.config


def restored_trials(dirpath: str) -> list[RestoredTrial] | None:
    """The trials of the experiment state Tune restores from (None: there is none, or unreadable).

    Tune reads the newest ``experiment_state-*.json`` of the experiment directory, which it has
    just copied into ``dirpath``; this reads the same file.
    """
    paths = sorted(Path(dirpath).glob(compat.experiment_state_pattern()))
    if not paths:
        return None
    try:
        state = json.loads(paths[-1].read_text())
        trials = []
        for entry in state.get("trial_data", []):
            data = json.loads(entry[0])
            config = data.get("config")
            trials.append(
                RestoredTrial(
                    str(data["trial_id"]),
                    str(data.get("status", "")),
                    dict(config) if isinstance(config, dict) else {},
                )
            )
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None  # Tune cannot read it either and starts the experiment afresh
    return trials


def unwrap(searcher: Searcher) -> Searcher:
    return searcher.searcher if isinstance(searcher, ConcurrencyLimiter) else searcher


def reconcile(searcher: Searcher, trials: list[RestoredTrial]) -> Searcher:
    """Bring ``searcher``'s per-trial state in step with ``trials``; the innermost searcher."""
    from caviar.tune.searchers import ConfirmingSearcher, SpaceSearcher

    base = confirming = unwrap(searcher)
    if isinstance(confirming, ConfirmingSearcher):
        reconcile_confirming(confirming, trials)
        base = unwrap(confirming.searcher)
        trials = [t for t in trials if not t.confirmation]
    reconcile_optuna(base, trials)
    if isinstance(base, SpaceSearcher):  # trial i was created with config i
        base.count = len(trials)
        unfinished = base.total is None or base.count < base.total
        if isinstance(confirming, ConfirmingSearcher) and unfinished:
            confirming.search_done, confirming.queue = False, None
    return base


def reconcile_confirming(searcher: Any, trials: list[RestoredTrial]) -> None:
    search = {t.trial_id: t for t in trials if not t.confirmation}
    searcher.configs = {
        trial_id: searcher.configs.get(trial_id, trial.config) for trial_id, trial in search.items()
    }
    searcher.best = {k: v for k, v in searcher.best.items() if k in search}
    searcher.live = {k for k, t in search.items() if t.status not in FINISHED}
    if searcher.queue is not None:
        made = {
            (t.config.get(CONFIRM_KEY), t.config.get(SEED_KEY)) for t in trials if t.confirmation
        }
        queue = confirmations(
            searcher.configs,
            searcher.best,
            Objective(str(searcher.metric), as_mode(searcher.mode)),
            searcher.top_k,
            searcher.seeds,
            searcher.seed,
        )
        searcher.queue = [c for c in queue if (c[CONFIRM_KEY], c[SEED_KEY]) not in made]


def reconcile_optuna(searcher: Searcher, trials: list[RestoredTrial]) -> None:
    """Give OptunaSearch a blank Optuna trial for every listed trial it does not know."""
    try:
        from ray.tune.search.optuna import OptunaSearch
    except ImportError:
        return
    known = compat.optuna_trials(searcher) if isinstance(searcher, OptunaSearch) else None
    if known is None:
        return
    study, told = known
    unknown = [t for t in trials if t.trial_id not in told]
    for trial in unknown:
        told[trial.trial_id] = study.ask()
        if trial.status in FINISHED:
            searcher.on_trial_complete(trial.trial_id, None, error=trial.status == "ERROR")
    if unknown:
        log.warning("TPE's saved state lacked %d restored trials; added them blank", len(unknown))
