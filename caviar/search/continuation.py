"""``caviar continue SWEEP --top K --epochs E``: the K best trials train on to E epochs.

Each chosen trial resumes from the last checkpoint Ray Tune stored for it (``tune/<trial_id>/``)
as the same Tune trial, so its curve goes on under the same trial_id with the next iteration
numbers, and the trials table gets its new last and best values. How: the chosen trials are marked
unfinished in Tune's newest experiment snapshot with ``epochs`` raised to E, and the sweep is
resumed (``caviar.tune.continuation``); the sweep's early-stopping scheduler and its searcher no
longer see those trials (``Continued``), so ASHA's ``max_t`` does not stop them and TPE's
finished trials stay as told. Every other trial is left as it was. A trial without a checkpoint is named and left alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from caviar.errors import SpecError
from caviar.results.store import SweepStore
from caviar.search.grow import refuse_if_running
from caviar.search.snapshot import has_trial_checkpoint, has_tune_state, read_snapshot, snapshots
from caviar.spec.history import entries, recorded, with_entry
from caviar.spec.model import SweepSpec
from caviar.spec.parse import parse_spec

CONTINUE = "continue"
EPOCHS = "epochs"
PAUSED = "PAUSED"  # Ray Tune's Trial.PAUSED: a trial Tune resumes


@dataclass(frozen=True)
class Continuation:
    """A checked continuation: which trials, to how many epochs; nothing written yet."""

    sweep_uri: str
    store: SweepStore
    raw: dict[str, Any]  # the recorded spec with the history entry
    spec: SweepSpec
    epochs: int
    chosen: list[str]
    notes: list[str]  # one line per top trial that is not continued, and why
    snapshot: str  # Tune's experiment snapshot (path inside the store's filesystem)
    snapshot_text: str  # ... with the chosen trials unfinished, epochs raised


def continued_trials(raw: dict[str, Any]) -> set[str]:
    """Every trial a ``caviar continue`` of this sweep has chosen."""
    return {str(t) for e in entries(raw, CONTINUE) for t in e.get("trials") or []}


def check_continue(sweep_uri: str, top: int, epochs: int) -> Continuation:
    """Every check of ``caviar continue`` that needs no Ray; SpecError names what is wrong."""
    from caviar.results.readers import read_trials

    if top < 1:
        raise SpecError("--top", f"must be >= 1, got {top}")
    store, raw = recorded(sweep_uri)
    spec = parse_spec(raw)
    if EPOCHS not in spec.space:
        raise SpecError("--epochs", f"the sweep's space has no {EPOCHS!r} for continue to raise")
    if spec.scheduler.name == "pbt" or spec.fuse is not None:
        raise SpecError("SWEEP_DIR", "trials of pbt or fused sweeps cannot be continued yet")
    refuse_if_running(store, sweep_uri)
    trials = read_trials(sweep_uri)
    column = f"best_{spec.metric}"
    if len(trials) == 0 or column not in trials:
        raise SpecError("SWEEP_DIR", f"{sweep_uri} has no trial with a value of {spec.metric!r}")
    finished = trials[(trials["status"] == "TERMINATED") & trials[column].notna()]
    objective = spec.objective
    best = finished.sort_values(column, ascending=objective.ascending, kind="stable").head(top)
    if len(best) == 0:
        raise SpecError("SWEEP_DIR", f"{sweep_uri} has no finished trial to continue")
    planned = {str(r["trial_id"]): int(r[EPOCHS]) for r in best.to_dict("records")}
    if epochs < max(planned.values()):
        raise SpecError(
            "--epochs",
            f"must be at least the trials' own epochs ({max(planned.values())}), got {epochs}",
        )
    done = {str(r["trial_id"]): int(r["iterations"] or 0) for r in best.to_dict("records")}
    if not has_tune_state(store):
        raise SpecError("SWEEP_DIR", f"{sweep_uri} has no Ray Tune state with checkpoints")
    snapshot = snapshots(store)[-1]
    state = read_snapshot(store, snapshot)
    chosen, notes = [], []
    for trial_id in planned:
        if done[trial_id] >= epochs:
            notes.append(f"trial {trial_id} has trained {done[trial_id]} epochs already")
        elif not has_trial_checkpoint(store, trial_id):
            notes.append(f"trial {trial_id} has no checkpoint to continue from; left as it was")
        else:
            chosen.append(trial_id)
    if not chosen:
        raise SpecError(
            "SWEEP_DIR", f"none of the top {top} trials can be continued: " + "; ".join(notes)
        )
    text = json.dumps(_unfinished(state, set(chosen), epochs))
    grown = with_entry(raw, CONTINUE, trials=chosen, epochs=epochs, top=top)
    return Continuation(sweep_uri, store, grown, spec, epochs, chosen, notes, snapshot, text)


def _unfinished(state: dict[str, Any], chosen: set[str], epochs: int) -> dict[str, Any]:
    """The snapshot with the chosen trials PAUSED (Tune resumes them) and their epochs raised."""
    rows = []
    for trial_json, metadata in state["trial_data"]:
        trial = json.loads(trial_json)
        if trial.get("trial_id") in chosen:
            trial["status"] = PAUSED
            for key in ("config", "_Trial__unresolved_config", "evaluated_params"):
                if isinstance(trial.get(key), dict) and EPOCHS in trial[key]:
                    trial[key][EPOCHS] = epochs
            trial_json = json.dumps(trial, indent=2)
        rows.append([trial_json, metadata])
    return {**state, "trial_data": rows}
