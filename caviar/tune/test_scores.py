"""After ``Tuner.fit()``: the selected trials scored once on the held-out test set.

Which trials (the best by the sweep's objective, the Pareto front of a multi-objective sweep, every
confirmation trial) and how the scores land in trials.parquet is the results layer's business
(``caviar.results.test_scores``); this module finds each selected trial's last checkpoint in what
the tuner returned (Ray's ``ResultGrid``: a local or remote directory, fetched by
``Checkpoint.as_directory``) and scores it with ``caviar.trainables.evaluate``.

It runs at the end of every ``caviar run`` and ``caviar resume`` that ends the sweep: a resume of a
sweep whose scores are on storage scores nothing again, and one whose earlier run died between the
fit and the scoring scores then. Scoring never changes the trials, their ranks or their curves; a
trial that cannot be scored (no checkpoint, a user's function, a scikit-learn estimator, whose
fitted model is not checkpointed) keeps nulls, with one log line saying why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from caviar.objective import Objective
from caviar.results import test_scores
from caviar.results.fused import member_id
from caviar.results.store import SweepStore
from caviar.spec.model import SweepSpec
from caviar.trainables.data import DataSpec

log = logging.getLogger(__name__)

# How a checkpoint directory is scored: (local directory) -> test metrics.
Scorer = Callable[[Path], dict[str, float]]


def score_selected(spec: SweepSpec, results: Any) -> dict[str, dict[str, float]]:
    """Score the sweep's selected trials that have no test scores yet; returns the scores now in
    trials.parquet, by trial id (empty when the sweep has no test set or nothing is scorable).

    ``results``: what ``Tuner.fit()`` returned (its trials' checkpoints).
    """
    data = spec.data
    if data is None or not _may_have_test_set(data):
        return {}
    if not _scorable(spec.trainable):
        return {}
    store = SweepStore.at(spec.sweep_uri)
    trials = store.read_trials()
    if trials is None or not trials.num_rows:
        return {}
    if not test_scores.sweep_ended(trials):
        log.info("test set: not scored yet, the sweep did not end (`caviar resume` scores it)")
        return {}
    objectives = [Objective(metric, mode) for metric, mode in spec.objectives]
    selected = test_scores.selected_trials(trials, objectives)
    stored = test_scores.stored_scores(trials)
    scores = {trial_id: stored[trial_id] for trial_id in selected if trial_id in stored}
    todo = [trial_id for trial_id in selected if trial_id not in stored]
    if not todo and scores.keys() == stored.keys():
        return scores  # scored before (a resume of an ended sweep): nothing to do
    if todo and not _has_test_set(data):
        return scores
    started = time.perf_counter()
    configs = {row["trial_id"]: row for row in trials.to_pylist()}
    checkpoints = _checkpoints(results)
    for trial_id in todo:
        found = _scorer(spec.trainable, trial_id, configs[trial_id], checkpoints, data)
        if found is None:
            log.info("test set: trial %s has no checkpoint to score; left null", trial_id)
            continue
        checkpoint, scorer = found
        got = _score(trial_id, checkpoint, scorer)
        if got:
            scores[trial_id] = got
    if scores or stored:
        try:
            test_scores.write_scores(store, trials, scores)
        except OSError as error:  # trials.parquet stays as it was; a resume scores again
            log.warning("test set: cannot write the scores to %s: %s", store.root, error)
            return {}
    log.info(
        "test set: %d of %d selected trials scored in %.2f s",
        len(scores),
        len(selected),
        time.perf_counter() - started,
    )
    return scores


def _may_have_test_set(data: DataSpec) -> bool:
    """A test file, a held-out fraction, or a packaged set (which may bring its own test split)."""
    return data.test is not None or data.test_fraction > 0 or data.dataset is not None


def _has_test_set(data: DataSpec) -> bool:
    """Whether the data has test rows (loaded once per process: ``load_dataset`` is cached)."""
    from caviar.trainables.data import load_dataset

    try:
        return load_dataset(data).x_test is not None
    except (ValueError, OSError) as error:
        log.warning("test set: cannot load the data to score the selected trials: %s", error)
        return False


def _scorable(trainable: str) -> bool:
    from caviar.trainables.evaluate import builtin_family

    if builtin_family(trainable) is not None:
        return True
    why = (
        "a fitted scikit-learn estimator is not checkpointed"
        if trainable.startswith("sklearn:")
        else "caviar cannot rebuild a user's model"
    )
    log.info("test set: %s trials are not scored (%s); test columns stay null", trainable, why)
    return False


def _checkpoints(results: Any) -> dict[str, Any]:
    """Each trial's last checkpoint (a ``ray.tune.Checkpoint``) by trial id, from a ResultGrid."""
    found: dict[str, Any] = {}
    if results is None:
        return found
    for index in range(len(results)):
        result = results[index]
        if result.checkpoint is not None and result.path:
            # Each trial's directory is named by its trial id (build._trial_dirname).
            found[str(result.path).rstrip("/").rsplit("/", 1)[-1]] = result.checkpoint
    return found


def _scorer(
    trainable: str,
    trial_id: str,
    config: Mapping[str, Any],
    checkpoints: Mapping[str, Any],
    data: DataSpec,
) -> tuple[Any, Scorer] | None:
    """The checkpoint that holds ``trial_id``'s model and how to score it: its own, or, for a
    member of a fused bundle, its bundle's (``<bundle id>_m<k>``)."""
    from caviar.trainables.evaluate import score_member, score_trial

    if trial_id in checkpoints:
        return checkpoints[trial_id], lambda path: score_trial(trainable, config, path, data)
    bundle, _, position = trial_id.rpartition("_m")
    if bundle in checkpoints and position.isdigit():
        member = int(position)
        if member_id(bundle, member) == trial_id:
            return checkpoints[bundle], lambda path: score_member(config, path, member, data)
    return None


def _score(trial_id: str, checkpoint: Any, scorer: Scorer) -> dict[str, float]:
    """``scorer`` on the checkpoint, fetched to a local directory; empty (logged) if it fails."""
    try:
        with checkpoint.as_directory() as directory:
            return scorer(Path(directory))
    except (ValueError, OSError, KeyError, RuntimeError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        log.warning("test set: trial %s could not be scored: %s", trial_id, first)
        return {}
