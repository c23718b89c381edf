"""One sweep as the dashboard sees it: its results store, read incrementally.

The dashboard reads only what ``caviar run`` writes (sweep.yaml, trials.parquet, the curves
parts as they are flushed) and the steering requests, so it works the same for a local sweep and
for one on a cluster writing to s3://. Each refresh lists the curves parts and reads only the new
ones (a compaction's merged part brings rows already known; they are recognized and skipped);
trials.parquet is read again only when its size or time changed.

Every curve point gets a sequence number as it arrives, and every trial row a version when it
changes, so a page that says what it has (``points`` and ``rows`` cursors) gets only what is new.
A page that has nothing gets a snapshot with each curve thinned to ``SNAPSHOT_POINTS`` points.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import yaml

from caviar.analysis.sweep import objectives_of
from caviar.errors import UnreadableResults
from caviar.objective import Mode, Objective
from caviar.results.control import added_trials, applied_ids, read_requests
from caviar.results.readers import read_trials
from caviar.results.store import SPEC_FILE, TRIALS_FILE, SweepStore
from caviar.search_spaces import Space

logger = logging.getLogger(__name__)

SNAPSHOT_POINTS = 40  # points per curve in a first snapshot (the newest point always kept)
REFRESH_S = 0.4  # a store is listed at most this often, however many pages ask
ENDED = ("TERMINATED", "ERROR", "STOPPED")


@dataclass
class Curve:
    """One trial's points of the sweep metric, by iteration."""

    values: dict[int, float] = field(default_factory=dict)


class SweepSource:
    """Reads one sweep directory incrementally and answers a page's update requests."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.store = SweepStore.at(uri)
        self.lock = threading.Lock()
        self.generation = 0
        self.trials_version = 0
        self._load()

    def _load(self) -> None:
        """Start from the sweep's spec with nothing read (again when the sweep was replaced)."""
        info = self.store.filesystem.get_file_info(self.store.path(SPEC_FILE))
        if info.type == pafs.FileType.NotFound:
            raise FileNotFoundError(f"no caviar sweep at {self.uri} ({SPEC_FILE} not found)")
        self._spec_stamp = (info.size, info.mtime_ns)
        self.spec: dict[str, Any] = yaml.safe_load(self.store.read_text(SPEC_FILE)) or {}
        self.name = str(self.spec.get("name") or self.uri.rstrip("/").rsplit("/", 1)[-1])
        objective = _objective(self.spec)
        self.metric: str = objective.metric
        self.mode: Mode = objective.mode
        self.space = Space.from_dict(self.spec.get("space") or {})
        self.planned = _planned(self.spec)
        self.curves: dict[str, Curve] = {}
        self.log: list[tuple[str, int, float]] = []  # point i has sequence number i + 1
        self.parts: set[str] = set()
        self.trials = pd.DataFrame({"trial_id": pd.Series(dtype=str)})
        self.rows: dict[str, dict[str, Any]] = {}
        self.row_versions: dict[str, int] = {}
        self.added = 0
        self.stopped = False  # a person stopped the sweep (and its driver acted on it)
        self._trials_stamp: tuple[Any, ...] | None = None
        self._refreshed = 0.0
        self._snapshot_cache: tuple[int, dict[str, list[list[Any]]]] | None = None
        self.generation += 1

    def _replaced(self) -> bool:
        """Whether sweep.yaml changed: the directory now holds another sweep of the same name."""
        info = self.store.filesystem.get_file_info(self.store.path(SPEC_FILE))
        return (
            info.type != pafs.FileType.NotFound and (info.size, info.mtime_ns) != self._spec_stamp
        )

    # Reading the store

    def refresh(self, force: bool = False) -> None:
        """Read what is new on storage (at most every ``REFRESH_S`` unless ``force``)."""
        with self.lock:
            now = time.monotonic()
            if not force and now - self._refreshed < REFRESH_S:
                return
            self._refreshed = now
            if self._replaced():
                self._load()
                self._refreshed = now
            self._read_parts()
            self._read_trials()
            try:
                requests = read_requests(self.store)
                self.added = added_trials(requests)
                stops = {r.id for r in requests if r.action == "stop_sweep"}
                self.stopped = bool(stops and stops & applied_ids(self.store))
            except OSError as error:
                logger.warning("dashboard: cannot read the requests of %s: %s", self.uri, error)

    def _read_parts(self) -> None:
        present = {path for _, path in self.store.curve_parts()}
        for path in sorted(present - self.parts):
            try:
                table = pq.read_table(
                    path,
                    filesystem=self.store.filesystem,
                    columns=["trial_id", "iteration", self.metric],
                )
            except FileNotFoundError:
                present.discard(path)  # compacted away between listing and reading
                continue
            except (OSError, ValueError, KeyError) as error:
                logger.warning("dashboard: skipping %s: %s", path, error)
                continue
            ids = table.column("trial_id").to_pylist()
            steps = table.column("iteration").to_pylist()
            values = table.column(self.metric).to_pylist()
            for trial_id, step, value in zip(ids, steps, values, strict=True):
                if value is None or not isinstance(value, int | float):
                    continue
                curve = self.curves.setdefault(trial_id, Curve())
                value = float(value)
                known = curve.values.get(step)
                if known == value or (
                    known is not None and math.isnan(known) and math.isnan(value)
                ):
                    continue  # a compacted part repeating a row already shown
                curve.values[int(step)] = value
                self.log.append((trial_id, int(step), value))
        self.parts = present

    def _read_trials(self) -> None:
        info = self.store.filesystem.get_file_info(self.store.path(TRIALS_FILE))
        if info.type == pafs.FileType.NotFound:
            return
        stamp = (info.size, info.mtime_ns)
        if stamp == self._trials_stamp:
            return
        try:
            trials = read_trials(self.uri)
        except (OSError, ValueError) as error:
            logger.warning("dashboard: cannot read the trials of %s: %s", self.uri, error)
            return
        self._trials_stamp = stamp
        self.trials = trials
        self.trials_version += 1
        for row in _json_rows(trials):
            trial_id = str(row["trial_id"])
            if self.rows.get(trial_id) != row:
                self.rows[trial_id] = row
                self.row_versions[trial_id] = self.trials_version

    # Answering a page

    def update(self, points: int, rows: int, generation: int = 0) -> dict[str, Any]:
        """What a page that has points up to ``points`` and rows up to version ``rows`` lacks.

        A page that has nothing, or holds another ``generation`` of the sweep (the directory was
        replaced since), gets a snapshot: every trial row, every curve thinned.
        """
        self.refresh()
        with self.lock:
            if points <= 0 or points > len(self.log) or generation != self.generation:
                curves = self._snapshot()
                kind = "snapshot"
                changed = list(self.rows.values())
            else:
                curves = _grouped(self.log[points:])
                kind = "delta"
                changed = [self.rows[t] for t, v in self.row_versions.items() if v > rows]
            return {
                "sweep": self.name,
                "generation": self.generation,
                "kind": kind,
                "points": len(self.log),
                "rows": self.trials_version,
                "curves": curves,
                "trials": changed,
                "progress": self.progress(),
            }

    def _snapshot(self) -> dict[str, list[list[Any]]]:
        """Every curve thinned to ``SNAPSHOT_POINTS`` (kept until new points arrive)."""
        if self._snapshot_cache is not None and self._snapshot_cache[0] == len(self.log):
            return self._snapshot_cache[1]
        found: dict[str, list[list[Any]]] = {}
        for trial_id, curve in self.curves.items():
            steps = sorted(curve.values)
            if len(steps) > SNAPSHOT_POINTS:
                keep = np.unique(np.linspace(0, len(steps) - 1, SNAPSHOT_POINTS).round())
                steps = [steps[int(i)] for i in keep]
            found[trial_id] = [list(steps), [_number(curve.values[s]) for s in steps]]
        self._snapshot_cache = (len(self.log), found)
        return found

    def progress(self) -> dict[str, Any]:
        """Trials done / running / planned, and an ETA from the rate trials have ended at."""
        trials = self.trials
        statuses = trials["status"] if "status" in trials else pd.Series(dtype=str)
        done = int(statuses.isin(ENDED).sum())
        running = int((statuses == "RUNNING").sum())
        total = len(trials) if self.stopped else max(self.planned + self.added, len(trials))
        eta: float | None = None
        if "started_at" in trials and done and done < total:
            started = pd.to_datetime(trials["started_at"], utc=True).min()
            if pd.notna(started):
                elapsed = (datetime.now(UTC) - started.to_pydatetime()).total_seconds()
                eta = max(0.0, elapsed / done * (total - done))
        finished = done >= total and running == 0 and len(trials) > 0
        return {
            "done": done,
            "running": running,
            "total": total,
            "added": self.added,
            "eta_s": eta,
            "finished": finished,
            "stopped": self.stopped,
        }

    def arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per trial: (iterations, values), thinned as in a snapshot (for the figures' scales)."""
        with self.lock:
            snapshot = self._snapshot()
        return {
            t: (np.asarray(x, dtype=float), np.asarray(y, dtype=float))
            for t, (x, y) in snapshot.items()
        }


def _grouped(entries: list[tuple[str, int, float]]) -> dict[str, list[list[Any]]]:
    found: dict[str, list[list[Any]]] = {}
    for trial_id, step, value in entries:
        pair = found.setdefault(trial_id, [[], []])
        pair[0].append(step)
        pair[1].append(_number(value))
    return found


def _number(value: float) -> float | None:
    """A value JSON can carry (NaN and infinities become null), at 6 significant digits."""
    if not math.isfinite(value):
        return None
    return float(f"{value:.6g}")


def _json_rows(trials: pd.DataFrame) -> list[dict[str, Any]]:
    """The trial table's rows as JSON-ready dicts (timestamps as text, NaN as null)."""
    frame = trials.astype(object).where(trials.notna(), None)
    out = []
    for row in frame.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for key, value in row.items():
            if isinstance(value, pd.Timestamp | datetime):
                value = value.isoformat()
            elif isinstance(value, float):
                value = _number(value)
            elif isinstance(value, np.generic):
                value = value.item()
            clean[str(key)] = value
        out.append(clean)
    return out


def _objective(spec: dict[str, Any]) -> Objective:
    """The sweep's objective (a multi-objective sweep's first); ``loss`` for a spec without one."""
    try:
        return objectives_of(spec, SPEC_FILE)[0]
    except UnreadableResults:
        return Objective("loss")


def _planned(spec: dict[str, Any]) -> int:
    """How many trials the spec plans (0 when it cannot be told: then the table's count)."""
    try:
        from caviar.spec.parse import parse_spec
        from caviar.tune.run import planned_trials

        return int(planned_trials(parse_spec(spec)) or 0)  # None: until the time budget ends
    except Exception:  # a spec this version cannot parse: show what is there
        return 0
