"""What Ray Tune left in a sweep's ``tune/`` directory, read without Ray.

Tune writes ``tuner.pkl`` when a sweep starts and an ``experiment_state-<time>.json`` snapshot
(the trial list with each trial's status and config) as it runs. The names are Ray's; the test of
``caviar.tune.compat`` checks them against the pinned Ray.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow.fs as pafs

from caviar.results.store import TUNE_DIR, SweepStore

TUNER_FILE = "tuner.pkl"
STATE_PREFIX, STATE_SUFFIX = "experiment_state", ".json"


def snapshots(store: SweepStore) -> list[str]:
    """Tune's experiment snapshots (paths in the store's filesystem), oldest first."""
    selector = pafs.FileSelector(store.path(TUNE_DIR), allow_not_found=True)
    return sorted(
        info.path
        for info in store.filesystem.get_file_info(selector)
        if info.base_name.startswith(STATE_PREFIX) and info.base_name.endswith(STATE_SUFFIX)
    )


def has_tune_state(store: SweepStore) -> bool:
    """Whether Tune saved enough to restore from: its tuner.pkl and an experiment snapshot.

    ``Tuner.can_restore`` looks at tuner.pkl only, which Tune writes before its first snapshot;
    a driver killed in between leaves a directory that ``Tuner.restore`` cannot continue.
    """
    info = store.filesystem.get_file_info(store.path(TUNE_DIR, TUNER_FILE))
    return info.type == pafs.FileType.File and bool(snapshots(store))


def read_snapshot(store: SweepStore, path: str) -> dict[str, Any]:
    """One experiment snapshot as JSON."""
    with store.filesystem.open_input_stream(path) as stream:
        state: dict[str, Any] = json.loads(bytes(stream.read()).decode())
    return state


def tune_statuses(store: SweepStore) -> dict[str, str]:
    """Trial statuses in Ray Tune's newest experiment snapshot (empty if there is none)."""
    names = snapshots(store)
    if not names:
        return {}
    try:
        rows = read_snapshot(store, names[-1])["trial_data"]
        return {json.loads(t)["trial_id"]: json.loads(t)["status"] for t, _ in rows}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def has_trial_checkpoint(store: SweepStore, trial_id: str) -> bool:
    """Whether Tune stored a checkpoint of ``trial_id`` (``tune/<trial_id>/checkpoint_*``)."""
    selector = pafs.FileSelector(store.path(TUNE_DIR, trial_id), allow_not_found=True)
    return any(
        info.type == pafs.FileType.Directory and info.base_name.startswith("checkpoint_")
        for info in store.filesystem.get_file_info(selector)
    )
