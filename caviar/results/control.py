"""Steering requests recorded with a sweep: stop one trial, stop the sweep, add trials.

Each request is one small JSON object, ``<sweep>/control/request-<id>.json``, written whole (a
rename locally, one PUT on S3), so the dashboard and the command line can ask at the same time
without a lock, from a laptop for a sweep that runs on a cluster. Ids start with the time in
nanoseconds, so names sort in the order the requests were made. The driver of the sweep polls the
folder (``caviar.tune.steering``); requests stay there, so a resumed sweep sees them too:

- ``stop_trial``: the trial is stopped (again, after a resume) wherever it is;
- ``add_trials``: the sweep starts ``n`` trials more than planned; the total is the spec's plus
  the sum of every add request, so reading them twice adds nothing twice;
- ``stop_sweep``: no new trial starts and the running ones are stopped; the driver writes
  ``applied-<id>.json`` once it acted, and a later run (``caviar resume``, ``caviar extend``)
  does not stop again for it.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Literal

import pyarrow.fs as pafs

from caviar.results.store import SPEC_FILE, SweepStore

CONTROL_DIR = "control"
Action = Literal["stop_trial", "stop_sweep", "add_trials"]
ACTIONS: tuple[Action, ...] = ("stop_trial", "stop_sweep", "add_trials")
MAX_ADD = 10_000  # one request adds at most this many trials (a typo should not add a million)


@dataclass(frozen=True)
class Request:
    """One steering request, as stored."""

    id: str
    action: Action
    trial_id: str | None = None
    n: int = 0
    requested_at: str = ""
    source: str = ""


def _store(sweep_dir: str) -> SweepStore:
    store = SweepStore.at(sweep_dir)
    if not store.exists(SPEC_FILE):
        raise FileNotFoundError(f"no caviar sweep at {sweep_dir} ({SPEC_FILE} not found)")
    return store


def _write(store: SweepStore, action: Action, source: str, **fields: object) -> Request:
    request = Request(
        id=f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}",
        action=action,
        requested_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        source=source,
        **fields,  # type: ignore[arg-type]
    )
    store.write_text(f"{CONTROL_DIR}/request-{request.id}.json", json.dumps(asdict(request)))
    return request


def request_stop_trial(sweep_dir: str, trial_id: str, source: str = "cli") -> Request:
    """Ask the running sweep to stop ``trial_id`` (it ends STOPPED, its rows kept)."""
    if not trial_id or "/" in trial_id:
        raise ValueError(f"TRIAL: not a trial id, got {trial_id!r}")
    return _write(_store(sweep_dir), "stop_trial", source, trial_id=trial_id)


def request_stop_sweep(sweep_dir: str, source: str = "cli") -> Request:
    """Ask the running sweep to start no new trial and stop the running ones."""
    return _write(_store(sweep_dir), "stop_sweep", source)


def request_add_trials(sweep_dir: str, n: int, source: str = "cli") -> Request:
    """Ask the running sweep to start ``n`` more trials: its searcher continues its stream."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_ADD:
        raise ValueError(f"trials: must be an integer from 1 to {MAX_ADD}, got {n!r}")
    return _write(_store(sweep_dir), "add_trials", source, n=n)


def read_requests(store: SweepStore) -> list[Request]:
    """Every request stored with the sweep, oldest first (unreadable ones are skipped)."""
    selector = pafs.FileSelector(store.path(CONTROL_DIR), allow_not_found=True)
    names = sorted(
        info.base_name
        for info in store.filesystem.get_file_info(selector)
        if info.base_name.startswith("request-") and info.base_name.endswith(".json")
    )
    found = []
    for name in names:
        try:
            data = json.loads(store.read_text(f"{CONTROL_DIR}/{name}"))
            if data.get("action") in ACTIONS:
                found.append(
                    Request(**{k: data[k] for k in Request.__dataclass_fields__ if k in data})
                )
        except (OSError, ValueError, TypeError):
            continue  # a half-written object on a store without atomic writes; read next time
    return found


def applied_ids(store: SweepStore) -> set[str]:
    """The ids of the stop_sweep requests a driver already acted on."""
    selector = pafs.FileSelector(store.path(CONTROL_DIR), allow_not_found=True)
    return {
        info.base_name.removeprefix("applied-").removesuffix(".json")
        for info in store.filesystem.get_file_info(selector)
        if info.base_name.startswith("applied-")
    }


def mark_applied(store: SweepStore, request: Request) -> None:
    """Record that the driver acted on ``request`` (a stop_sweep is acted on once)."""
    applied_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    store.write_text(
        f"{CONTROL_DIR}/applied-{request.id}.json", json.dumps({"applied_at": applied_at})
    )


def added_trials(requests: list[Request]) -> int:
    """How many trials the add requests asked for, in all."""
    return sum(r.n for r in requests if r.action == "add_trials")


def stopped_trials(requests: list[Request]) -> set[str]:
    """The trials a stop_trial request names."""
    return {r.trial_id for r in requests if r.action == "stop_trial" and r.trial_id}
