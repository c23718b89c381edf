"""Curves parts read together: one type per column, the later part wins, tombstones dropped.

The rule of the store (``caviar.results.store``): when two parts hold the same (trial_id,
iteration), the later part wins; a tombstone row (``schema.SUPERSEDED``) removes its key. Readers
and compaction both go through these functions, so they cannot disagree on what a sweep holds.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from caviar.results.schema import KEY, SUPERSEDED
from caviar.results.tables import widen


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
