"""The on-storage layout of one sweep, over any pyarrow filesystem (a local directory or s3://...).

```
<sweep>/sweep.yaml              the resolved spec, as run
<sweep>/trials.parquet          one row per trial, replaced atomically
<sweep>/curves/part-*.parquet   one row per reported result; append-only parts, compacted in tiers
<sweep>/tune/                   Ray Tune's experiment state and trial checkpoints (for resume)
<sweep>/quarantine/             damaged parts (``compact(repair=True)``) and trials tables, for a person
<sweep>/driver.lock             held by the one driver writing the sweep (``caviar.results.lock``)
```

Every file appears whole or not at all: locally it is written under a hidden temporary name that no
reader or glob picks up (``.part-....parquet.<id>.tmp``) and then renamed; on object stores an
upload only becomes visible when it completes, so it is written in place. Curve parts carry a
sequence number; when two parts hold the same (trial_id, iteration), the later part wins. That one
rule makes replays after a restore, and crashes in the middle of a compaction, harmless: readers
deduplicate, and compaction writes the deduplicated union before deleting its inputs. A reader that
finds a listed part gone (a compaction finished meanwhile) lists again, so compaction is invisible.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
import warnings
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from caviar.results.location import join_uri as join_uri
from caviar.results.location import open_location
from caviar.results.parts import (
    concat_unified,
    drop_superseded,
    latest_per_key,
    unified_types,
)
from caviar.results.schema import KEY as KEY
from caviar.results.schema import SCHEMA_VERSION as SCHEMA_VERSION
from caviar.results.schema import SUPERSEDED as SUPERSEDED
from caviar.results.schema import VERSION_KEY, check_schema_version
from caviar.results.schema import spec_metadata as spec_metadata

SPEC_FILE = "sweep.yaml"
TRIALS_FILE = "trials.parquet"
CURVES_DIR = "curves"
TUNE_DIR = "tune"
QUARANTINE_DIR = "quarantine"
_PART = re.compile(r"^part-(\d{6,})-[0-9a-z]+\.parquet$")
_TEMPORARY = re.compile(r"^\..*\.[0-9a-f]{8}\.tmp$")
_CHECKPOINT = re.compile(r"^checkpoint_\d+$")
# How often a reader lists the parts again when a compaction removes a part under it.
_READ_ATTEMPTS = 5
# Leftover temporary files older than this are removed by compaction (a writer takes seconds).
STALE_TEMPORARY_S = 3600.0
# `compact --repair` removes temporaries older than this: older than any write in progress.
LIVE_TEMPORARY_S = 300.0

Filter = list[tuple[str, str, Any]]


@dataclass
class CompactionReport:
    """What one compaction did: parts merged into one, rows kept, parts repaired or set aside."""

    merged: int = 0
    rows: int = 0
    repaired: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    temporaries_removed: int = 0


@dataclass
class SweepStore:
    """Reads and writes the files of one sweep directory."""

    filesystem: pafs.FileSystem
    root: str

    @classmethod
    def at(cls, uri: str) -> SweepStore:
        filesystem, root = open_location(uri)
        return cls(filesystem, root)

    @property
    def is_local(self) -> bool:
        return isinstance(self.filesystem, pafs.LocalFileSystem)

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def exists(self, *parts: str) -> bool:
        info = self.filesystem.get_file_info(self.path(*parts))
        return bool(info.type != pafs.FileType.NotFound)

    # Writing

    def write_text(self, name: str, text: str) -> None:
        self._atomic_write(self.path(name), text.encode())

    def read_text(self, name: str) -> str:
        with self.filesystem.open_input_stream(self.path(name)) as stream:
            return bytes(stream.read()).decode()

    def write_trials(self, table: pa.Table) -> None:
        self._write_parquet(self.path(TRIALS_FILE), table)

    def append_curves(self, table: pa.Table, sequence: int) -> str:
        """Write one curves part with sequence number ``sequence``; returns its name."""
        name = f"part-{sequence:06d}-{uuid.uuid4().hex[:8]}.parquet"
        self._write_parquet(self.path(CURVES_DIR, name), table)
        return name

    def _write_parquet(self, path: str, table: pa.Table) -> None:
        table = table.replace_schema_metadata(
            {
                **(table.schema.metadata or {}),
                VERSION_KEY: str(SCHEMA_VERSION).encode(),
            }
        )
        self._replace(
            path,
            lambda target: pq.write_table(
                table,
                target,
                filesystem=self.filesystem,
                compression="zstd",
                row_group_size=128_000,
            ),
        )

    def _atomic_write(self, path: str, data: bytes) -> None:
        def write(target: str) -> None:
            with self.filesystem.open_output_stream(target) as stream:
                stream.write(data)

        self._replace(path, write)

    def _replace(self, path: str, write: Any) -> None:
        """Make ``path`` appear whole: a hidden temporary plus rename locally, in place on S3."""
        if not self.is_local:
            write(path)  # an object becomes visible only when its upload completes
            return
        directory, name = path.rsplit("/", 1)
        self.filesystem.create_dir(directory, recursive=True)
        temporary = f"{directory}/.{name}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            write(temporary)
            _fsync(temporary)
            self.filesystem.move(temporary, path)
        except BaseException:
            if _exists(self.filesystem, temporary):
                self.filesystem.delete_file(temporary)
            raise
        _fsync(directory)

    # Reading

    def curve_parts(self) -> list[tuple[int, str]]:
        """(sequence, path) of every visible curves part, oldest first."""
        selector = pafs.FileSelector(self.path(CURVES_DIR), allow_not_found=True)
        parts = []
        for info in self.filesystem.get_file_info(selector):
            match = _PART.match(info.base_name)
            if match and info.type == pafs.FileType.File:
                parts.append((int(match.group(1)), info.path))
        return sorted(parts)

    def next_sequence(self) -> int:
        parts = self.curve_parts()
        return parts[-1][0] + 1 if parts else 0

    def curve_schema(self) -> pa.Schema | None:
        """The union of the column types of every readable part (from footers only)."""
        schemas = []
        for _, path in self.curve_parts():
            try:
                schemas.append(pq.read_schema(path, filesystem=self.filesystem))
            except (OSError, pa.ArrowInvalid):
                continue
        if not schemas:
            return None
        types = unified_types([schema.empty_table() for schema in schemas])
        return pa.schema([pa.field(name, dtype) for name, dtype in types.items()])

    def read_curves(
        self, columns: Sequence[str] | None = None, trial_ids: Sequence[str] | None = None
    ) -> pa.Table:
        """Every curve row, each (trial_id, iteration) once (the latest part wins).

        ``columns`` and ``trial_ids`` are pushed down to the Parquet reader: other columns and row
        groups of other trials are not read.
        """
        wanted = None if columns is None else list(dict.fromkeys([*KEY, *columns, SUPERSEDED]))
        filters: Filter | None = (
            None if trial_ids is None else [("trial_id", "in", list(trial_ids))]
        )
        for _ in range(_READ_ATTEMPTS):
            tables, vanished = [], False
            for _, path in self.curve_parts():
                try:
                    table = self._read_parquet(path, wanted, filters)
                except FileNotFoundError:
                    vanished = True  # a compaction replaced it; its rows are in the merged part
                    break
                if table is not None:
                    tables.append(table)
            if not vanished:
                break
        else:
            raise OSError(f"the curves of {self.root} kept changing while being read")
        if not tables:
            return pa.table(
                {"trial_id": pa.array([], pa.string()), "iteration": pa.array([], pa.int64())}
            )
        combined = drop_superseded(latest_per_key(concat_unified(tables)))
        if columns is not None:
            combined = combined.select([c for c in wanted or [] if c in combined.column_names])
        return combined

    def read_trials(
        self, columns: Sequence[str] | None = None, filters: Filter | None = None
    ) -> pa.Table | None:
        if not self.exists(TRIALS_FILE):
            return None
        wanted = None if columns is None else list(columns)
        try:
            return self._read_parquet(self.path(TRIALS_FILE), wanted, filters)
        except FileNotFoundError:
            return None

    def _read_parquet(
        self, path: str, columns: list[str] | None = None, filters: Filter | None = None
    ) -> pa.Table | None:
        """The table at ``path``; None with a warning if it is unreadable (corrupt, truncated).

        FileNotFoundError passes through: the caller decides whether a vanished file matters.
        """
        try:
            if columns is not None:
                present = set(pq.read_schema(path, filesystem=self.filesystem).names)
                columns = [c for c in columns if c in present]
                filters = [f for f in filters or [] if f[0] in present] or None
            table = pq.read_table(
                path, filesystem=self.filesystem, columns=columns, filters=filters
            )
        except FileNotFoundError:
            raise
        except (OSError, pa.ArrowInvalid) as error:
            if not _exists(self.filesystem, path):
                raise FileNotFoundError(path) from None
            warnings.warn(f"skipping unreadable Parquet file {path}: {error}", stacklevel=3)
            return None
        check_schema_version(table.schema, path)
        return table

    # Compaction

    def compact(
        self, repair: bool = False, keep_trials: Collection[str] | None = None
    ) -> CompactionReport:
        """Merge the newest run of small curves parts into one; report what was done.

        Tiered (``caviar.results.compaction``): big parts are left, so each row is rewritten a
        bounded number of times and memory is bounded by one merge. Only parts that were read are
        deleted, after the merged part is on storage. An unreadable part is left alone (it may be
        a transient error) and no merge crosses it, unless ``repair``: then the row groups that can
        still be read are kept and the original is moved to ``quarantine/``.
        ``keep_trials``: drop the rows of every other trial (the callback's end-of-sweep cleanup).
        """
        from caviar.results.compaction import compact

        report = CompactionReport(temporaries_removed=self._remove_stale_temporaries(repair))
        return compact(self, report, repair=repair, keep_trials=keep_trials)

    def quarantine(self, path: str) -> str | None:
        """Move a damaged file into ``quarantine/`` for a person; its new path (None if gone)."""
        self.filesystem.create_dir(self.path(QUARANTINE_DIR), recursive=True)
        name = path.rsplit("/", 1)[-1]
        target = self.path(QUARANTINE_DIR, name)
        if _exists(self.filesystem, target):
            target = self.path(QUARANTINE_DIR, f"{name}.{uuid.uuid4().hex[:8]}")
        try:
            self.filesystem.move(path, target)
        except FileNotFoundError:
            return None
        return target

    def prune_checkpoints(self, trial_ids: Collection[str]) -> int:
        """Delete every checkpoint of these ended trials but the newest; returns how many.

        Only for trials that ended: while a trial may still be resumed, the snapshot a resume
        restores may name an older checkpoint than its newest (the trial's directory is
        ``tune/<trial_id>``).
        """
        removed = 0
        selector = pafs.FileSelector(self.path(TUNE_DIR), allow_not_found=True)
        for trial in self.filesystem.get_file_info(selector):
            if trial.type != pafs.FileType.Directory or trial.base_name not in trial_ids:
                continue
            inside = pafs.FileSelector(trial.path, allow_not_found=True)
            checkpoints = sorted(
                info.path
                for info in self.filesystem.get_file_info(inside)
                if info.type == pafs.FileType.Directory and _CHECKPOINT.match(info.base_name)
            )
            for path in checkpoints[:-1]:
                self.filesystem.delete_dir(path)
                removed += 1
        return removed

    def _remove_stale_temporaries(self, repairing: bool) -> int:
        """Delete temporary files a killed writer left behind.

        A writer's temporary lives for the seconds a write takes; when repairing, any older than
        ``LIVE_TEMPORARY_S`` is taken as left behind, otherwise only those older than an hour. A
        live writer's temporary is never removed under it.
        """
        removed = 0
        for directory in (self.root, self.path(CURVES_DIR)):
            selector = pafs.FileSelector(directory, allow_not_found=True)
            for info in self.filesystem.get_file_info(selector):
                if not _TEMPORARY.match(info.base_name) or info.type != pafs.FileType.File:
                    continue
                age = time.time() - (info.mtime.timestamp() if info.mtime else 0.0)
                if age > (LIVE_TEMPORARY_S if repairing else STALE_TEMPORARY_S):
                    with contextlib.suppress(FileNotFoundError):
                        self.filesystem.delete_file(info.path)
                        removed += 1
        return removed


def _exists(filesystem: pafs.FileSystem, path: str) -> bool:
    return bool(filesystem.get_file_info(path).type != pafs.FileType.NotFound)


def _fsync(path: str) -> None:
    """Flush a local file or directory to disk, so that a power cut keeps what a rename showed."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def open_sweep(uri: str, key: str = "SWEEP_DIR") -> SweepStore:
    """The store of the caviar sweep at ``uri`` (local or s3://): ``SpecError(key)``, never
    quoting credentials, when ``uri`` holds none (no sweep.yaml) or cannot be listed. The one
    "is this a caviar sweep" check of every command that takes a sweep directory."""
    from caviar.errors import SpecError
    from caviar.results.location import check_no_credentials

    check_no_credentials(uri, key)  # before any message can quote the URI
    try:
        store = SweepStore.at(uri)
        found = store.exists(SPEC_FILE)
    except (OSError, ValueError) as error:
        raise SpecError(key, f"cannot read {uri}: {error}") from None
    if not found:
        raise SpecError(key, f"no caviar sweep at {uri} ({SPEC_FILE} not found)")
    return store
