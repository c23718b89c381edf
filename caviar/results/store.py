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
import json
import os
import re
import time
import uuid
import warnings
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from caviar.errors import UnreadableResults
from caviar.results.location import check_no_credentials
from caviar.results.tables import widen

SCHEMA_VERSION = 1
SPEC_FILE = "sweep.yaml"
TRIALS_FILE = "trials.parquet"
CURVES_DIR = "curves"
TUNE_DIR = "tune"
QUARANTINE_DIR = "quarantine"
KEY = ("trial_id", "iteration")
# A curves row with this column true is a tombstone: the (trial_id, iteration) it names was
# superseded (the trial restarted from an earlier iteration and did not report it again). Like any
# row, the latest part wins; readers and compaction then drop tombstones (see ``drop_superseded``).
SUPERSEDED = "__superseded"
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


def open_location(uri: str) -> tuple[pafs.FileSystem, str]:
    """A filesystem and path for a local path or a URI such as s3://bucket/prefix.

    For s3:// the standard ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``) environment variable
    points at an S3-compatible server (MinIO, moto, Ceph) unless the URI says
    ``?endpoint_override=``.
    """
    if "://" not in uri:
        return pafs.LocalFileSystem(), str(Path(uri).expanduser().resolve())
    check_no_credentials(uri)  # before anything can quote the URI
    if uri.startswith("s3://"):
        return _s3_location(uri)
    filesystem, path = pafs.FileSystem.from_uri(uri)
    return filesystem, path.rstrip("/")


def _s3_location(uri: str) -> tuple[pafs.FileSystem, str]:
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and "endpoint_override=" not in uri:
        path = uri[len("s3://") :].split("?", 1)[0].rstrip("/")
        scheme, _, host = endpoint.partition("://")
        if not host:
            scheme, host = "https", endpoint
        options: dict[str, Any] = {"endpoint_override": host.rstrip("/"), "scheme": scheme}
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if region:
            options["region"] = region
        return pafs.S3FileSystem(**options), path
    filesystem, path = pafs.FileSystem.from_uri(uri)
    return filesystem, path.rstrip("/")


def join_uri(base: str, *parts: str) -> str:
    """``base`` with path ``parts`` appended, before its query string (``s3://b/p?region=r``)."""
    path, mark, query = base.partition("?") if "://" in base else (base, "", "")
    return "/".join([path.rstrip("/"), *parts]) + mark + query


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
                b"caviar.schema_version": str(SCHEMA_VERSION).encode(),
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


def salvage_row_groups(filesystem: pafs.FileSystem, path: str) -> list[pa.Table]:
    """The row groups of a damaged Parquet file that still read (none if its footer is gone)."""
    try:
        parquet = pq.ParquetFile(path, filesystem=filesystem)
    except (OSError, pa.ArrowInvalid):
        return []
    tables = []
    for index in range(parquet.num_row_groups):
        try:
            table = parquet.read_row_group(index)
            table.validate(full=True)
        except (OSError, pa.ArrowInvalid):
            continue
        tables.append(table)
    return tables


def unified_types(tables: Sequence[pa.Table]) -> dict[str, pa.DataType]:
    """One type per column across parts: a column that is text anywhere is text, numbers widen.

    Parts of one sweep agree by construction; this keeps older or hand-made parts readable.
    """
    types: dict[str, pa.DataType] = {}
    for table in tables:
        for name, dtype in zip(table.column_names, table.schema.types, strict=True):
            types[name] = widen(types.get(name, pa.null()), dtype)
    return types


def concat_unified(tables: Sequence[pa.Table]) -> pa.Table:
    """Concatenate parts whose columns differ (missing columns become null, types unified)."""
    types = unified_types(tables)
    schema = pa.schema(
        [pa.field(n, t) for n, t in types.items()], metadata=tables[-1].schema.metadata
    )
    aligned = []
    for table in tables:
        columns = []
        for name, dtype in types.items():
            if name in table.column_names:
                column = table[name]
                columns.append(column if column.type == dtype else pc.cast(column, dtype))
            else:
                columns.append(pa.nulls(table.num_rows, dtype))
        aligned.append(pa.Table.from_arrays(columns, schema=schema))
    return pa.concat_tables(aligned)


def latest_per_key(table: pa.Table) -> pa.Table:
    """Keep, for each (trial_id, iteration), only its last row in table order."""
    if table.num_rows == 0:
        return table
    position = pa.array(range(table.num_rows), pa.int64())
    indexed = table.append_column("__row", position)
    last = indexed.group_by(list(KEY), use_threads=False).aggregate([("__row", "max")])
    keep = pc.sort_indices(last["__row_max"])
    return table.take(pc.take(last["__row_max"], keep))


def drop_superseded(table: pa.Table) -> pa.Table:
    """``table`` without its tombstone rows and without the tombstone column."""
    if SUPERSEDED not in table.column_names:
        return table
    flags = pc.fill_null(table[SUPERSEDED], False)
    return table.filter(pc.invert(flags)).drop_columns([SUPERSEDED])


def check_schema_version(schema: pa.Schema, path: str) -> None:
    """Refuse files written by a newer caviar whose layout this one does not know."""
    metadata = schema.metadata or {}
    version = int(metadata.get(b"caviar.schema_version", b"1"))
    if version > SCHEMA_VERSION:  # not bad input: the CLI prints one line, exits 1
        raise UnreadableResults(
            f"{path}: results schema version {version}, this caviar reads up to "
            f"{SCHEMA_VERSION}: upgrade caviar-sweep"
        )


def spec_metadata(spec_yaml: str, version: str) -> dict[bytes, bytes]:
    """Key-value metadata every caviar Parquet file carries."""
    return {
        b"caviar.spec": spec_yaml.encode(),
        b"caviar.version": version.encode(),
        b"caviar.schema": json.dumps({"key": list(KEY)}).encode(),
    }


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
