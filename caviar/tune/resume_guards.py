"""Checks before a resume, made before Ray starts: sweeps a resume would damage are refused.

- ``tune/`` gone (removed to reclaim checkpoint space) while trials had finished: a resume would
  run the sweep again from scratch and drop the finished results at its end.
- sweep.yaml edited after the start in anything but ``RESUME_MAY_CHANGE`` (num_samples raised, say):
  Ray Tune restores the sweep as it started, so every resume ended "interrupted" (exit 130) and the
  new trials never ran. (`caviar extend` raises num_samples the way a resume can follow.)
- a finished sweep: nothing runs; a compaction the killed driver skipped is done.

Each refusal is a SpecError: one line, exit 2, nothing written.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

from caviar.errors import SpecError
from caviar.results.store import SPEC_FILE, TUNE_DIR, SweepStore, open_sweep
from caviar.spec.history import entries
from caviar.spec.parse import parse_spec
from caviar.tune.resolved import spec_yaml


def check_resumable(store: SweepStore, sweep_uri: str) -> str | None:
    """SpecError for a sweep that a resume would damage (see the module docstring); a line
    saying so when the sweep has already finished (nothing to resume), else None."""
    from caviar.tune.run import has_tune_state

    if not has_tune_state(store):
        refuse_rerun_over_results(store, sweep_uri)
    return check_resume(sweep_uri)


def refuse_rerun_over_results(store: SweepStore, sweep_uri: str) -> None:
    """SpecError if trials.parquet holds finished trials (a rerun from scratch would drop them)."""
    import pyarrow.compute as pc

    table = store.read_trials(columns=["status"])
    if table is None or "status" not in table.column_names:
        return
    finished = pc.sum(pc.is_in(table["status"], pc.cast(["TERMINATED", "ERROR"], "string")))
    count = finished.as_py() or 0
    if count:
        raise SpecError(
            "SWEEP_DIR",
            f"{sweep_uri} has {count} finished trials but no Ray Tune state ({TUNE_DIR}/ is "
            "gone), so it cannot be continued; its results are kept as they are: start a new "
            "sweep (`caviar run SPEC --name NEW`) to train more",
        )


# What `caviar resume` may change in sweep.yaml: nothing else alters what ran (Tune restores the
# searcher, scheduler and trials as they were started).
RESUME_MAY_CHANGE = frozenset(
    {"budget", "max_concurrent", "trial_time_limit_s", "loggers", "history"}
)


def check_resume(sweep_uri: str) -> str | None:
    """Before Ray starts: refuse a sweep.yaml edited in ways that change what ran (SpecError);
    return a line saying so when the sweep has already finished (nothing to resume)."""
    import yaml

    store = open_sweep(sweep_uri)
    raw = yaml.safe_load(store.read_text(SPEC_FILE))
    spec = parse_spec(raw)
    trials = store.read_trials(columns=["trial_id", "status"])
    if trials is None:
        return None  # nothing was recorded yet: whatever sweep.yaml says runs from the start
    ran = (trials.schema.metadata or {}).get(b"caviar.spec")
    before: dict[str, Any] = {}
    if ran:  # the spec the sweep started with, as its results record it
        with contextlib.suppress(SpecError, TypeError, ValueError, yaml.YAMLError):
            before = yaml.safe_load(spec_yaml(parse_spec(yaml.safe_load(ran.decode()))))
    now = yaml.safe_load(spec_yaml(spec))
    if entries(raw, "extend"):  # `caviar extend` raised the trial count the way a resume follows
        for resolved in (before, now):
            if isinstance(resolved.get("search"), dict):
                resolved["search"].pop("num_samples", None)
    differ = sorted(
        key
        for key in set(before) | set(now)
        if before and key not in RESUME_MAY_CHANGE and before.get(key) != now.get(key)
    )
    if differ:
        raise SpecError(
            "SWEEP_DIR",
            f"{SPEC_FILE} was edited after the sweep started ({', '.join(differ)} differ from "
            "what ran): put it back, or start a new sweep with `caviar run` and another --name",
        )
    from caviar.tune.run import planned_trials, tune_statuses

    statuses = tune_statuses(store)
    ended = {"TERMINATED", "ERROR"}
    if (
        statuses
        and set(statuses.values()) <= ended
        and set(trials["status"].to_pylist()) <= ended
        and len(statuses) >= (planned_trials(spec) or math.inf)  # None: until the budget ends
    ):
        store.compact(keep_trials=set(statuses))  # what the killed driver may not have done
        store.prune_checkpoints(set(statuses))
        return f"the sweep at {sweep_uri} has finished ({len(statuses)} trials): nothing to resume"
    return None
