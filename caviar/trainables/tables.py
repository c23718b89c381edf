"""Reading a user's training table, and the validation and test tables that go with it.

Every problem is a ValueError that names the spec's key (``path``, ``validation``, ``test``,
``target``) and what is wrong, which the spec turns into ``data.<key>: ...`` and exit 2.
The held-out tables must have the training table's columns (in any order) and only labels the
training table has; they are coded with the training table's classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pyarrow.lib import ArrowException

Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class Table:
    """The training rows (x float64, y labels coded 0..K-1 or float targets) and held-out rows."""

    x: np.ndarray
    y: np.ndarray
    task: Task
    n_classes: int  # 0 for regression
    val: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray] | None


def read_tables(path: str, target: str, validation: str | None, test: str | None) -> Table:
    """The training table at ``path`` and the optional validation/test tables, checked."""
    frame = _read_frame("path", path)
    if len(frame) < 10:
        raise ValueError(f"path: {path} has {len(frame)} rows, need at least 10")
    if target not in frame.columns:
        raise ValueError(f"target: column {target!r} not in {path}")
    labels = frame.pop(target)
    if labels.isna().any():
        raise ValueError(f"target: column {target!r} has missing values")
    if labels.nunique() < 2:
        raise ValueError(f"target: column {target!r} is constant")
    non_numeric = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise ValueError(f"path: feature column {non_numeric[0]!r} is not numeric")
    if frame.shape[1] == 0:
        raise ValueError(f"path: {path} has no feature columns besides the target")
    x = _features(frame)
    held: dict[str, tuple[np.ndarray, pd.Series] | None] = {
        key: None if where is None else _held_out(key, where, target, frame)
        for key, where in (("validation", validation), ("test", test))
    }
    if pd.api.types.is_float_dtype(labels) and labels.nunique() > 20:
        coded = {k: None if v is None else (v[0], _floats(k, v[1])) for k, v in held.items()}
        return Table(
            x, labels.to_numpy(np.float64), "regression", 0, coded["validation"], coded["test"]
        )
    codes, classes = pd.factorize(labels, sort=True)
    coded = {k: None if v is None else (v[0], _codes(k, v[1], classes)) for k, v in held.items()}
    return Table(
        x,
        codes.astype(np.int64),
        "classification",
        len(classes),
        coded["validation"],
        coded["test"],
    )


def _read_frame(key: str, where: str) -> pd.DataFrame:
    path = Path(where)
    if not path.is_file():
        raise ValueError(f"{key}: file not found: {where}")
    if path.stat().st_size == 0:
        raise ValueError(f"{key}: cannot read {where}: the file is empty")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if path.suffix.lower() in (".csv", ".txt"):
            return pd.read_csv(path)
    except (
        OSError,
        ArrowException,
        UnicodeDecodeError,
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
    ) as error:
        raise ValueError(f"{key}: cannot read {where}: {str(error).splitlines()[0]}") from None
    raise ValueError(f"{key}: expected a .parquet or .csv file, got {where}")


def _held_out(
    key: str, where: str, target: str, train: pd.DataFrame
) -> tuple[np.ndarray, pd.Series]:
    """A validation or test table: the training table's feature columns and its target."""
    frame = _read_frame(key, where)
    expected = [*train.columns, target]
    missing = [c for c in expected if c not in frame.columns]
    extra = [c for c in frame.columns if c not in expected]
    if missing or extra:
        parts = ([f"missing {missing}"] if missing else []) + ([f"extra {extra}"] if extra else [])
        raise ValueError(
            f"{key}: the columns of {where} differ from the training file's: {', '.join(parts)}"
        )
    if len(frame) == 0:
        raise ValueError(f"{key}: {where} has no rows")
    labels = frame.pop(target)
    if labels.isna().any():
        raise ValueError(f"{key}: column {target!r} of {where} has missing values")
    frame = frame[list(train.columns)]
    non_numeric = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise ValueError(f"{key}: feature column {non_numeric[0]!r} of {where} is not numeric")
    return _features(frame, train), labels


def _features(frame: pd.DataFrame, train: pd.DataFrame | None = None) -> np.ndarray:
    """The feature columns as float64; missing values take the training table's column mean."""
    x = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    source = x if train is None else train.to_numpy(dtype=np.float64, na_value=np.nan)
    means = np.nanmean(source, axis=0) if np.isnan(x).any() else None
    return x if means is None else np.where(np.isnan(x), means, x)


def _floats(key: str, labels: pd.Series) -> np.ndarray:
    if not pd.api.types.is_numeric_dtype(labels):
        raise ValueError(f"{key}: the target column is not numeric, as in the training file")
    return labels.to_numpy(np.float64)


def _codes(key: str, labels: pd.Series, classes: pd.Index) -> np.ndarray:
    codes = classes.get_indexer(pd.Index(labels))
    if (codes < 0).any():
        unseen = labels[codes < 0].iloc[0]
        raise ValueError(f"{key}: label {unseen!r} is not among the training file's labels")
    return codes.astype(np.int64)
