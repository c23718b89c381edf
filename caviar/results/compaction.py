"""Tiered compaction of a sweep's curves parts: merge the small parts, leave the big ones.

Curve parts carry a sequence number and the later part wins for a (trial_id, iteration). A merge
keeps that rule true only if it merges a *contiguous* run of parts and gives the result the
sequence number of the run's newest part: then every part newer than the merge still beats it, and
every part older than the run is beaten by it. So a merge never crosses a part it could not read
(the run stops there), and a merge that finds one of its parts gone (another compaction took it)
writes nothing.

Which runs: see ``choose_runs``. Parts grow like a binary counter until they are sealed at half
``BIG_PART_ROWS``: each row is rewritten a bounded number of times (about log2 of that size over a
flush's), so compaction costs grow linearly with the rows a sweep reports, and memory is bounded
by the biggest merge (``BIG_PART_ROWS``), not by the sweep.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from caviar.results.parts import (
    concat_unified,
    drop_superseded,
    latest_per_key,
    salvage_row_groups,
)
from caviar.results.schema import SUPERSEDED

if TYPE_CHECKING:
    from caviar.results.store import CompactionReport, SweepStore

# A part this big is never merged again: reading many parts costs readers little, rewriting big
# ones costs the driver time and memory.
BIG_PART_ROWS = 250_000


@dataclass(frozen=True)
class Part:
    """One curves part: its sequence number, path and row count (None: its footer is unreadable)."""

    sequence: int
    path: str
    rows: int | None


class _Vanished(Exception):
    """A part went away while compacting: another compaction is at work; this one gives way."""


def compact(
    store: SweepStore,
    report: CompactionReport,
    repair: bool = False,
    keep_trials: Collection[str] | None = None,
    big_rows: int = BIG_PART_ROWS,
) -> CompactionReport:
    """Drop other trials' rows (``keep_trials``, the end of a sweep: then also the rows a newer
    part replaces), then merge each run of small parts (at the end of a sweep, all of them)."""
    try:
        if keep_trials is not None:
            _drop_other_trials(store, report, set(keep_trials))
            _drop_replaced_rows(store)
        parts = _parts(store)
        for part in parts:
            if part.rows is None and not repair:
                report.skipped.append(part.path)
        final = keep_trials is not None
        for run in choose_runs(parts, repair, big_rows, final=final):
            # Tombstones (rows superseded by a restart) may go only where no older part is left
            # that holds the rows they cancel: in a merge that starts at the oldest part.
            oldest = run[0].sequence == parts[0].sequence and not report.skipped
            _merge(store, report, run, repair, drop_tombstones=oldest)
    except _Vanished:
        pass  # the other compaction's output holds the rows; nothing of ours was deleted
    return report


def choose_runs(
    parts: list[Part], repair: bool, big_rows: int = BIG_PART_ROWS, final: bool = False
) -> list[list[Part]]:
    """Contiguous runs of parts worth merging, each oldest first (newest runs first).

    From the newest part back, a part joins the current run while it holds at most twice the
    run's rows and the run stays within ``big_rows``; otherwise it starts the next run. A part of
    half ``big_rows`` or more is sealed (never merged again), and no run crosses it or an
    unreadable part (unless repairing: then the unreadable part's readable row groups join).
    ``final`` (the end of a sweep, done once) drops the twice-the-rows rule, so a finished sweep
    leaves one part per ``big_rows``, not the tiers its flushes happened to build.
    """
    runs: list[list[Part]] = []
    run: list[Part] = []
    total = 0

    def close() -> None:
        nonlocal run, total
        if len(run) > 1 or any(p.rows is None for p in run):
            runs.append(run[::-1])
        run, total = [], 0

    for part in reversed(parts):
        if part.rows is None:
            if repair:
                run.append(part)
            else:
                close()  # merging across it could put older rows above the ones it holds
            continue
        if part.rows >= big_rows // 2:
            close()
            continue
        outgrows = not final and part.rows > 2 * max(total, 1)
        if run and (outgrows or total + part.rows > big_rows):
            close()
        run.append(part)
        total += part.rows
    close()
    return runs


def _parts(store: SweepStore) -> list[Part]:
    parts = []
    for sequence, path in store.curve_parts():
        try:
            rows: int | None = pq.read_metadata(path, filesystem=store.filesystem).num_rows
        except FileNotFoundError:
            raise _Vanished from None
        except (OSError, pa.ArrowInvalid) as error:
            if not _exists(store, path):
                raise _Vanished from None
            warnings.warn(f"skipping unreadable Parquet file {path}: {error}", stacklevel=3)
            rows = None
        parts.append(Part(sequence, path, rows))
    return parts


def _merge(
    store: SweepStore,
    report: CompactionReport,
    run: list[Part],
    repair: bool,
    drop_tombstones: bool = False,
) -> None:
    tables: list[pa.Table] = []
    merged: list[Part] = []
    broken: list[Part] = []
    for part in run:
        table = _read(store, part.path)
        if table is None and repair:
            broken.append(part)
            tables.extend(salvage_row_groups(store.filesystem, part.path))
        elif table is None:
            # Unreadable data under a readable footer: only the parts newer than it may merge.
            report.skipped.append(part.path)
            tables, merged = [], []
        else:
            tables.append(table)
            merged.append(part)
    if len(merged) <= 1 and not broken:
        return
    if tables:
        table = latest_per_key(concat_unified(tables))
        if drop_tombstones:
            table = drop_superseded(table)
        if table.num_rows:
            table = table.sort_by([("trial_id", "ascending"), ("iteration", "ascending")])
            store.append_curves(table, run[-1].sequence)
            report.rows = table.num_rows
    for part in merged:
        _delete(store, part.path)
    report.merged = len(merged)
    for part in broken:
        target = store.quarantine(part.path)
        if target is not None:
            report.repaired.append(part.path)
            report.quarantined.append(target)


def _drop_other_trials(store: SweepStore, report: CompactionReport, keep: set[str]) -> None:
    """Rewrite only the parts that hold rows of other trials (each read on its own: bounded memory)."""
    wanted = pa.array(sorted(keep), pa.string())
    for sequence, path in store.curve_parts():
        ids = _read(store, path, ["trial_id"])
        if ids is None:
            continue  # unreadable: compaction reports it
        keep_mask = pc.is_in(ids["trial_id"], value_set=wanted)
        if pc.all(keep_mask).as_py() is not False:
            continue
        table = _read(store, path)
        if table is None:
            continue
        kept = table.filter(pc.is_in(table["trial_id"], value_set=wanted))
        if kept.num_rows:
            store.append_curves(kept, sequence)  # same sequence: it takes the original's place
        _delete(store, path)


def _drop_replaced_rows(store: SweepStore) -> None:
    """Rewrite the parts that hold a row which a newer part replaces or cancels (a trial that
    restarted reported that iteration again, or left a tombstone), so that the files read directly
    (duckdb, polars, pandas) hold each (trial_id, iteration) once, as caviar's readers see them.

    Only the keys are read to decide (bounded by the sweep's row count, two columns); parts are
    rewritten oldest first, so a kill between two rewrites never brings a cancelled row back: a
    tombstone goes only after every older row it cancels.
    """
    parts = store.curve_parts()
    keys: list[pa.Table] = []
    for index, (_, path) in enumerate(parts):
        try:
            names = pq.read_schema(path, filesystem=store.filesystem).names
        except FileNotFoundError:
            raise _Vanished from None
        except (OSError, pa.ArrowInvalid):
            return  # unreadable: compaction reports it
        table = _read(store, path, [c for c in ("trial_id", "iteration", SUPERSEDED) if c in names])
        if table is None:
            return  # an unreadable part could hold anything: leave it to `caviar compact --repair`
        rows = table.num_rows
        tombstone = (
            pc.fill_null(table[SUPERSEDED], False)
            if SUPERSEDED in names
            else pa.array([False] * rows, pa.bool_())
        )
        keys.append(
            pa.table(
                {
                    "trial_id": table["trial_id"].cast(pa.string()),
                    "iteration": table["iteration"].cast(pa.int64()),
                    "part": pa.array([index] * rows, pa.int64()),
                    "row": pa.array(range(rows), pa.int64()),
                    "tombstone": tombstone,
                }
            )
        )
    if not keys:
        return
    every = pa.concat_tables(keys)
    newest = every.group_by(["trial_id", "iteration"], use_threads=False).aggregate(
        [("part", "max")]
    )
    every = every.join(newest, ["trial_id", "iteration"])
    keep = pc.and_(pc.equal(every["part"], every["part_max"]), pc.invert(every["tombstone"]))
    every = every.append_column("keep", keep)
    for index, (sequence, path) in enumerate(parts):
        mine = every.filter(pc.equal(every["part"], index)).sort_by("row")
        if pc.all(mine["keep"]).as_py() is not False:
            continue
        table = _read(store, path)
        if table is None:
            return
        kept = drop_superseded(table.filter(mine["keep"]))
        if kept.num_rows:
            store.append_curves(kept, sequence)  # same sequence: it takes the original's place
        _delete(store, path)


def _read(store: SweepStore, path: str, columns: list[str] | None = None) -> pa.Table | None:
    try:
        return store._read_parquet(path, columns)
    except FileNotFoundError:
        raise _Vanished from None


def _delete(store: SweepStore, path: str) -> None:
    with contextlib.suppress(FileNotFoundError):  # another compaction merged and deleted it
        store.filesystem.delete_file(path)


def _exists(store: SweepStore, path: str) -> bool:
    from caviar.results.store import _exists as exists

    return exists(store.filesystem, path)
