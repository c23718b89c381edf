"""Checks before a resume, made before Ray starts: sweeps a resume would damage are refused.

- ``tune/`` gone (removed to reclaim checkpoint space) while trials had finished: a resume would
  run the sweep again from scratch and drop the finished results at its end.
- sweep.yaml edited after the start (num_samples raised): Ray Tune restores the sweep as it
  started, so every resume ended "interrupted" (exit 130) and the new trials never ran.

Each refusal is a SpecError: one line, exit 2, nothing written.
"""

from __future__ import annotations

from caviar.errors import SpecError
from caviar.orchestrator.spec import parse_spec
from caviar.results.store import SPEC_FILE, TRIALS_FILE, TUNE_DIR, SweepStore


def check_resumable(store: SweepStore, sweep_uri: str) -> None:
    """SpecError for a sweep that a resume would damage (see the module docstring)."""
    from caviar.orchestrator.run import has_tune_state  # run imports this module

    if not has_tune_state(store):
        refuse_rerun_over_results(store, sweep_uri)
    refuse_edited_spec(store, sweep_uri)


def refuse_edited_spec(store: SweepStore, sweep_uri: str) -> None:
    """SpecError if sweep.yaml differs from the spec the sweep ran with (in its Parquet footers).

    Ray Tune restores a sweep as it started (its searcher, its trial count): with num_samples
    raised in sweep.yaml, every resume ended "interrupted" (exit 130), the new trials never run.
    """
    import pyarrow.parquet as pq
    import yaml

    if not store.exists(TRIALS_FILE):
        return
    try:
        metadata = pq.read_schema(store.path(TRIALS_FILE), filesystem=store.filesystem).metadata
        ran = yaml.safe_load((metadata or {}).get(b"caviar.spec", b"").decode() or "null")
        now = yaml.safe_load(store.read_text(SPEC_FILE))
    except (OSError, ValueError, yaml.YAMLError):
        return  # unreadable: the results callback rebuilds trials.parquet; nothing to compare
    if not isinstance(ran, dict) or not isinstance(now, dict):
        return
    try:
        before, after = parse_spec(ran), parse_spec(now)
    except SpecError:
        return  # an edit that does not parse is reported by the resume's own parse
    from caviar.orchestrator.run import planned_trials

    was, will = planned_trials(before), planned_trials(after)
    if was != will or before.time_budget_s != after.time_budget_s:
        raise SpecError(
            "SWEEP_DIR",
            f"{SPEC_FILE} of {sweep_uri} was edited after the sweep started (it plans {will} "
            f"trials, budget {after.time_budget_s}; the sweep started with {was}, budget "
            f"{before.time_budget_s}); a resume continues the sweep as it started: undo the "
            "edit, or run the new spec as a new sweep",
        )


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
