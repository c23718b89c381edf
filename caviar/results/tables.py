"""Typed Arrow tables from result rows: parameters typed by their distribution, metrics by their values.

Numeric metrics are float64 (an int in one report and a float in the next must not split a column),
booleans bool, text string. Hyperparameters take the type of their distribution (float64, int64,
string, bool) and are null where a conditional parameter was absent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from caviar.search_spaces import Space

ARROW_TYPES: dict[str, pa.DataType] = {
    "float": pa.float64(),
    "int": pa.int64(),
    "str": pa.string(),
    "bool": pa.bool_(),
}
TIMESTAMP = pa.timestamp("us", tz="UTC")


def value_type(values: Iterable[Any]) -> pa.DataType:
    """The Arrow type for a column of metric values (nulls ignored)."""
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return pa.float64()
    if kinds == {bool}:
        return pa.bool_()
    if kinds <= {int, float}:
        return pa.float64()
    return pa.string()


def widen(seen: pa.DataType, new: pa.DataType) -> pa.DataType:
    """The type that holds values of both types: numbers widen to float64, anything else to text."""
    if seen == new or pa.types.is_null(new):
        return seen
    if pa.types.is_null(seen):
        return new
    numeric = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean)
    if any(f(seen) for f in numeric) and any(f(new) for f in numeric):
        both_int = pa.types.is_integer(seen) and pa.types.is_integer(new)
        return pa.int64() if both_int else pa.float64()
    return pa.string()


def param_types(space: Space) -> dict[str, pa.DataType]:
    """The Arrow type of each hyperparameter column, from its distribution."""
    return {name: ARROW_TYPES.get(space[name].value_type, pa.string()) for name in space}


def build_table(
    rows: Sequence[Mapping[str, Any]],
    fixed: Mapping[str, pa.DataType],
    known: dict[str, pa.DataType],
    metadata: Mapping[bytes, bytes] | None = None,
) -> pa.Table:
    """An Arrow table of ``rows``: ``fixed`` columns first with their types, then the rest.

    ``known`` remembers the type chosen for each other column, so every part of a sweep agrees;
    it is updated in place with new columns.
    """
    seen: dict[str, None] = dict.fromkeys(fixed)  # a dict: a list made wide sets quadratic
    for row in rows:
        for name in row:
            if name not in seen:
                seen[name] = None
    names = list(seen)
    arrays, fields = [], []
    for name in names:
        values = [_cell(row.get(name)) for row in rows]
        if name in fixed:
            dtype = fixed[name]
        else:
            present = value_type(values) if any(v is not None for v in values) else pa.null()
            dtype = known[name] = widen(known.get(name, pa.null()), present)
            if pa.types.is_null(dtype):
                dtype = pa.float64()  # only nulls so far: a metric column, numeric by default
        arrays.append(_array(values, dtype))
        fields.append(pa.field(name, dtype))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=metadata))


def _cell(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value


def _array(values: list[Any], dtype: pa.DataType) -> pa.Array:
    if dtype == pa.string():
        values = [None if v is None else str(v) for v in values]
    elif dtype == pa.float64():
        values = [None if v is None else float(v) for v in values]
    elif dtype == pa.int64():
        values = [None if v is None else int(v) for v in values]
    return pa.array(values, type=dtype)
