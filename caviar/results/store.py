"""The on-storage layout of one sweep, over any pyarrow filesystem (a local directory or s3://...).

```
<sweep>/sweep.yaml              the resolved spec, as run
<sweep>/trials.parquet          one row per trial, replaced atomically
<sweep>/curves/part-*.parquet   one row per reported result; append-only parts, compacted
<sweep>/tune/                   Ray Tune's experiment state and trial checkpoints (for resume)
```

Every file appears whole or not at all: it is written under a temporary name and then renamed.
Curve parts carry a sequence number; when two parts hold the same (trial_id, iteration), the later
part wins. That one rule makes replays after a restore, and crashes in the middle of a compaction,
harmless: readers deduplicate, and compaction writes the deduplicated union before deleting its inputs.
"""

from __future__ import annotations

import json
import re
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

SCHEMA_VERSION = 1
SPEC_FILE = "sweep.yaml"
TRIALS_FILE = "trials.parquet"
CURVES_DIR = "curves"
TUNE_DIR = "tune"
KEY = ("trial_id", "iteration")
_PART = re.compile(r"^part-(\d{6,})-[0-9a-z]+\.parquet$")


def open_location(uri: str) -> tuple[pafs.FileSystem, str]:
    """A filesystem and path for a local path or a URI such as s3://bucket/prefix."""
    if "://" not in uri:
        return pafs.LocalFileSystem(), str(Path(uri).expanduser().resolve())
    filesystem, path = pafs.FileSystem.from_uri(uri)
    return filesystem, path.rstrip("/")


def join_uri(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


@dataclass
class SweepStore:
    """Reads and writes the files of one sweep directory."""

    filesystem: pafs.FileSystem
    root: str

    @classmethod
    def at(cls, uri: str) -> SweepStore:
        filesystem, root = open_location(uri)
        return cls(filesystem, root)

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
        self.filesystem.create_dir(self.path(CURVES_DIR), recursive=True)
        self._write_parquet(self.path(CURVES_DIR, name), table)
        return name

    def _write_parquet(self, path: str, table: pa.Table) -> None:
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), b"caviar.schema_version": str(SCHEMA_VERSION).encode()}
        )
        temporary = self._temporary(path)
        pq.write_table(
            table, temporary, filesystem=self.filesystem, compression="zstd", row_group_size=128_000
        )
        self.filesystem.move(temporary, path)

    def _atomic_write(self, path: str, data: bytes) -> None:
        self.filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
        temporary = self._temporary(path)
        with self.filesystem.open_output_stream(temporary) as stream:
            stream.write(data)
        self.filesystem.move(temporary, path)

    @staticmethod
    def _temporary(path: str) -> str:
        directory, name = path.rsplit("/", 1)
        return f"{directory}/.tmp-{uuid.uuid4().hex[:8]}-{name}"

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

    def read_curves(self, columns: Sequence[str] | None = None) -> pa.Table:
        """Every curve row, each (trial_id, iteration) once (the latest part wins)."""
        tables = []
        for _, path in self.curve_parts():
            table = self._read_parquet(path)
            if table is not None:
                tables.append(table)
        if not tables:
            return pa.table({"trial_id": pa.array([], pa.string()), "iteration": pa.array([], pa.int64())})
        combined = pa.concat_tables(tables, promote_options="permissive")
        combined = latest_per_key(combined)
        if columns is not None:
            combined = combined.select([c for c in columns if c in combined.column_names])
        return combined

    def read_trials(self) -> pa.Table | None:
        if not self.exists(TRIALS_FILE):
            return None
        return self._read_parquet(self.path(TRIALS_FILE))

    def _read_parquet(self, path: str) -> pa.Table | None:
        try:
            table = pq.read_table(path, filesystem=self.filesystem)
        except (OSError, pa.ArrowInvalid) as error:
            warnings.warn(f"skipping unreadable Parquet file {path}: {error}", stacklevel=3)
            return None
        check_schema_version(table.schema, path)
        return table

    # Compaction

    def compact(self) -> int:
        """Merge all curves parts into one; returns how many parts were merged."""
        parts = self.curve_parts()
        if len(parts) <= 1:
            return 0
        merged = self.read_curves().sort_by([("trial_id", "ascending"), ("iteration", "ascending")])
        self.append_curves(merged, parts[-1][0])
        for _, path in parts:
            self.filesystem.delete_file(path)
        return len(parts)


def latest_per_key(table: pa.Table) -> pa.Table:
    """Keep, for each (trial_id, iteration), only its last row in table order."""
    if table.num_rows == 0:
        return table
    position = pa.array(range(table.num_rows), pa.int64())
    indexed = table.append_column("__row", position)
    last = indexed.group_by(list(KEY), use_threads=False).aggregate([("__row", "max")])
    keep = pc.sort_indices(last["__row_max"])
    return table.take(pc.take(last["__row_max"], keep))


def check_schema_version(schema: pa.Schema, path: str) -> None:
    """Refuse files written by a newer caviar whose layout this one does not know."""
    metadata = schema.metadata or {}
    version = int(metadata.get(b"caviar.schema_version", b"1"))
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"{path} has results schema version {version}, this caviar reads up to "
            f"{SCHEMA_VERSION}: upgrade caviar-sweep"
        )


def spec_metadata(spec_yaml: str, version: str) -> dict[bytes, bytes]:
    """Key-value metadata every caviar Parquet file carries."""
    return {
        b"caviar.spec": spec_yaml.encode(),
        b"caviar.version": version.encode(),
        b"caviar.schema": json.dumps({"key": list(KEY)}).encode(),
    }
