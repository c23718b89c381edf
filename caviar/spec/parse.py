"""The sweep spec: parsed once from YAML (or a dict) into frozen, typed objects.

Every check happens here, before Ray starts: unknown keys, wrong types, impossible values, each
reported as ``SpecError("space.lr", "loguniform: low must be > 0, got 0")``. After parsing, the rest
of caviar trusts the spec. The sections are parsed in ``sections``, the rules across them are in
``rules``; the spec object is built once, at the end.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from caviar.errors import SpecError, shown
from caviar.objective import Mode
from caviar.results.location import check_no_credentials
from caviar.search_spaces import Space
from caviar.spec.extras import (
    check_estimator,
    parse_loggers,
    parse_objectives,
    parse_scoring,
    parse_tracker_options,
)
from caviar.spec.fields import get, no_unknown_keys
from caviar.spec.limits import MAX_SEED, check_metric_name, check_numbers
from caviar.spec.model import SweepSpec, max_iterations
from caviar.spec.recommended import names_a_mode, recommended_sections
from caviar.spec.rules import (
    check_fuse,
    check_metrics_not_in_space,
    check_pbt,
    check_trackers,
    until_time_budget,
)
from caviar.spec.sections import (
    parse_budget,
    parse_confirm,
    parse_data,
    parse_fuse,
    parse_resources,
    parse_scheduler,
    parse_search,
    parse_space,
)
from caviar.trainables.adapter import BUILTIN
from caviar.trainables.data import DataSpec
from caviar.trainables.estimator import is_estimator_path
from caviar.trainables.lookup import check_trainable
from caviar.trainables.protocol import check_builtin

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
TOP_KEYS = {
    "name",
    "trainable",
    "data",
    "metric",
    "mode",
    "space",
    "search",
    "scheduler",
    "resources",
    "max_concurrent",
    "max_failures",
    "time_budget_s",
    "budget",
    "confirm",
    "trial_time_limit_s",
    "seed",
    "storage",
    "loggers",
    "fuse",
    # trackers' options, scikit-learn scorers (see extras.py)
    "mlflow",
    "tensorboard",
    "scoring",
    "history",  # what extend/continue/warm-start did (spec/history.py); not parsed here
}


@dataclass(frozen=True)
class _Trained:
    """What is trained on what, towards which objectives: the sections checked together."""

    trainable: str
    data: DataSpec | None
    metrics: tuple[str, ...]
    modes: tuple[Mode, ...]
    space: Space
    scoring: tuple[str, ...]


@dataclass(frozen=True)
class _Limits:
    """How many trials, for how long, how often retried."""

    max_concurrent: int | None
    max_failures: int
    time_budget_s: float | None
    max_trials: int | None
    trial_time_limit_s: float | None
    seed: int


def parse_spec(raw: Mapping[str, Any]) -> SweepSpec:
    """Check a spec given as a dict and return it typed. Raises SpecError naming the key path."""
    if not isinstance(raw, Mapping):
        raise SpecError("", f"a spec must be a mapping, got {type(raw).__name__}")
    no_unknown_keys("", raw, TOP_KEYS)
    name = get(raw, "name", str, required=True)
    if not _NAME.fullmatch(name):
        raise SpecError("name", f"use letters, digits, '_', '-' and '.', got {shown(name)}")
    check_numbers(raw)
    trained = _parse_trained(raw)
    # Neither search: nor scheduler: the recommended mode, as if its sections were written.
    sections = {"search": raw.get("search", {}), "scheduler": raw.get("scheduler", "fifo")}
    if not names_a_mode(raw):
        sections = recommended_sections(max_iterations(trained.space), raw.get("fuse") is not None)
    search = parse_search(sections["search"], trained.space)
    resources = parse_resources(raw.get("resources", {}))
    limits = _parse_limits(raw)
    confirm = parse_confirm(raw.get("confirm"))
    storage = str(get(raw, "storage", str, default="results"))
    check_no_credentials(storage)
    loggers = parse_loggers(raw.get("loggers"))
    tracker_options = parse_tracker_options(raw, loggers)
    fuse = parse_fuse(raw.get("fuse"))
    check_trackers(loggers, storage, fuse, tracker_options)
    scheduler = parse_scheduler(sections["scheduler"], max_iterations(trained.space), trained.space)
    check_pbt(search, scheduler, confirm, limits.max_trials)
    check_fuse(fuse, search, scheduler, confirm)
    if until_time_budget(
        sections["search"],
        search,
        scheduler,
        limits.time_budget_s,
        limits.max_trials,
        confirm,
        fuse,
    ):
        search = dataclasses.replace(search, num_samples=None)
    return SweepSpec(
        name=name,
        trainable=trained.trainable,
        data=trained.data,
        metric=trained.metrics[0],
        mode=trained.modes[0],
        space=trained.space,
        search=search,
        scheduler=scheduler,
        resources=resources,
        max_concurrent=limits.max_concurrent,
        max_failures=limits.max_failures,
        time_budget_s=limits.time_budget_s,
        seed=limits.seed,
        storage=storage,
        raw=dict(raw),
        loggers=loggers,
        confirm=confirm,
        max_trials=limits.max_trials,
        fuse=fuse,
        trial_time_limit_s=limits.trial_time_limit_s,
        metrics=trained.metrics,
        modes=trained.modes,
        scoring=trained.scoring,
        tracker_options=tracker_options,
    )


def _parse_trained(raw: Mapping[str, Any]) -> _Trained:
    """``trainable``, ``data``, ``metric``/``mode``, ``space`` and ``scoring``, checked against
    each other with the trainable's own declarations."""
    trainable = get(raw, "trainable", str, default=BUILTIN)
    try:
        if not is_estimator_path(trainable):  # an estimator's class path is checked below
            check_trainable(trainable)
    except ValueError as error:
        raise SpecError("trainable", str(error)) from None
    data = parse_data(raw.get("data"), trainable)
    metrics, modes = parse_objectives(raw)
    paths = ["metric"] if len(metrics) == 1 else [f"metric[{i}]" for i in range(len(metrics))]
    for objective, path in zip(metrics, paths, strict=True):
        check_metric_name(objective, path)
    space = parse_space(raw.get("space"))
    check_metrics_not_in_space(metrics, space)
    for objective, path in zip(metrics, paths, strict=True):
        check_builtin(trainable, space, objective, data, path)
    scoring = parse_scoring(raw.get("scoring"), trainable)
    if is_estimator_path(trainable):
        check_estimator(trainable, space, metrics, scoring)
    return _Trained(trainable, data, metrics, modes, space, scoring)


def _parse_limits(raw: Mapping[str, Any]) -> _Limits:
    """``max_concurrent``, ``max_failures``, the time and trial budgets, and ``seed``."""
    max_concurrent = get(raw, "max_concurrent", int, default=None)
    if max_concurrent is not None and max_concurrent < 1:
        raise SpecError(
            "max_concurrent", f"must be >= 1 (or null for no limit), got {max_concurrent}"
        )
    max_failures = get(raw, "max_failures", int, default=0)
    if max_failures < -1:
        raise SpecError("max_failures", f"must be >= -1 (-1 retries forever), got {max_failures}")
    time_budget_s = get(raw, "time_budget_s", (int, float), default=None)
    if time_budget_s is not None and time_budget_s <= 0:
        raise SpecError("time_budget_s", f"must be > 0, got {time_budget_s}")
    max_trials, budget_time = parse_budget(raw.get("budget"))
    if budget_time is not None:
        if time_budget_s is not None:
            raise SpecError("budget.time_s", "give budget.time_s or time_budget_s, not both")
        time_budget_s = budget_time
    trial_time_limit_s = get(raw, "trial_time_limit_s", (int, float), default=None)
    if trial_time_limit_s is not None and trial_time_limit_s <= 0:
        raise SpecError("trial_time_limit_s", f"must be > 0, got {trial_time_limit_s}")
    seed = get(raw, "seed", int, default=0)
    if seed < 0:
        raise SpecError("seed", f"must be >= 0, got {seed}")
    if seed > MAX_SEED:
        raise SpecError("seed", f"must be <= 2**32 - 1 (Optuna's and NumPy's limit), got {seed}")
    return _Limits(
        max_concurrent,
        max_failures,
        None if time_budget_s is None else float(time_budget_s),
        max_trials,
        None if trial_time_limit_s is None else float(trial_time_limit_s),
        seed,
    )
