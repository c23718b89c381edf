"""Datasets for trainables: synthetic ones made from a seed, or a user's Parquet/CSV table.

A dataset is loaded once per worker process (``load_dataset`` is cached on the frozen ``DataSpec``),
not once per trial: with actor reuse, a worker trains many trials on the same arrays.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pyarrow.lib import ArrowException

Task = Literal["classification", "regression"]

DATA_KEYS = {
    "synthetic",
    "n_samples",
    "n_features",
    "n_informative",
    "n_classes",
    "noise",
    "class_sep",
    "seed",
    "path",
    "target",
    "val_fraction",
    "folds",
}


@dataclass(frozen=True)
class DataSpec:
    """Where a sweep's data comes from; the spec's ``data:`` mapping, checked."""

    synthetic: Task | None = "classification"
    n_samples: int = 2000
    n_features: int = 20
    n_informative: int | None = None  # default: half the features, at least 2
    n_classes: int = 4
    noise: float = 0.1
    class_sep: float = 1.0
    seed: int = 0
    path: str | None = None
    target: str | None = None
    val_fraction: float = 0.2
    folds: int = 0  # K >= 2: K-fold cross-validation instead of one val_fraction split

    def __post_init__(self) -> None:
        if self.path is None and self.synthetic not in ("classification", "regression"):
            raise ValueError(
                f"synthetic: must be 'classification' or 'regression', got {self.synthetic!r}"
            )
        if self.path is not None and self.target is None:
            raise ValueError("target: required with path (the name of the label column)")
        for key in ("n_samples", "n_features", "n_informative", "n_classes", "seed", "folds"):
            value = getattr(self, key)
            if value is None and key == "n_informative":
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{key}: must be an integer, got {value!r}")
        if self.n_samples < 10:
            raise ValueError(f"n_samples: must be >= 10, got {self.n_samples}")
        if self.n_features < 1:
            raise ValueError(f"n_features: must be >= 1, got {self.n_features}")
        if self.n_informative is not None and not 1 <= self.n_informative <= self.n_features:
            raise ValueError(
                f"n_informative: must be in [1, n_features={self.n_features}], "
                f"got {self.n_informative}"
            )
        if self.n_classes < 2:
            raise ValueError(f"n_classes: must be >= 2, got {self.n_classes}")
        if self.folds == 1 or not 0 <= self.folds <= 20:
            raise ValueError(
                f"folds: must be 0 (no cross-validation) or in [2, 20], got {self.folds}"
            )
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction: must be in (0, 1), got {self.val_fraction}")

    @classmethod
    def from_dict(cls, mapping: dict[str, Any]) -> DataSpec:
        """Build from a spec's ``data:``; unknown keys are errors that name the key."""
        unknown = set(mapping) - DATA_KEYS
        if unknown:
            raise ValueError(
                f"{sorted(unknown)[0]}: unknown key (known: {', '.join(sorted(DATA_KEYS))})"
            )
        values = dict(mapping)
        if "path" in values:
            values.setdefault("synthetic", None)
            values["path"] = str(values["path"])
        return cls(**values)


@dataclass(frozen=True)
class Dataset:
    """Train/validation arrays, standardized, ready for a model."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    task: Task
    n_classes: int  # 0 for regression
    folds: tuple[Dataset, ...] = ()  # with ``folds: K``: K train/val splits; self is the first

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


@functools.lru_cache(maxsize=4)
def load_dataset(spec: DataSpec) -> Dataset:
    """The dataset of ``spec``: generated from its seed or read from its file, then split."""
    if spec.path is not None:
        x, y, task, n_classes = _read_table(spec)
    else:
        x, y, task, n_classes = _synthetic(spec)
    if spec.folds >= 2:
        return _kfold(x, y, task, n_classes, spec.folds, spec.seed)
    return _split(x, y, task, n_classes, spec.val_fraction, spec.seed)


def check_data(spec: DataSpec) -> None:
    """Load the data once on the driver so that bad data fails before any trial starts."""
    load_dataset(spec)


def _synthetic(spec: DataSpec) -> tuple[np.ndarray, np.ndarray, Task, int]:
    from sklearn.datasets import make_classification, make_regression

    informative = spec.n_informative or min(spec.n_features, max(2, spec.n_features // 2))

    if spec.synthetic == "regression":
        x, y = make_regression(
            n_samples=spec.n_samples,
            n_features=spec.n_features,
            n_informative=informative,
            noise=spec.noise * 100,
            random_state=spec.seed,
        )
        return x, (y - y.mean()) / (y.std() or 1.0), "regression", 0
    x, y = make_classification(
        n_samples=spec.n_samples,
        n_features=spec.n_features,
        n_informative=informative,
        n_redundant=min(2, spec.n_features - informative),
        n_classes=spec.n_classes,
        n_clusters_per_class=1,
        flip_y=spec.noise,
        class_sep=spec.class_sep,
        random_state=spec.seed,
    )
    return x, y, "classification", spec.n_classes


def _read_table(spec: DataSpec) -> tuple[np.ndarray, np.ndarray, Task, int]:
    assert spec.path is not None and spec.target is not None
    path = Path(spec.path)
    if not path.is_file():
        raise ValueError(f"path: file not found: {spec.path}")
    if path.stat().st_size == 0:
        raise ValueError(f"path: cannot read {spec.path}: the file is empty")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif path.suffix.lower() in (".csv", ".txt"):
            frame = pd.read_csv(path)
        else:
            raise ValueError(f"path: expected a .parquet or .csv file, got {spec.path}")
    except (
        OSError,
        ArrowException,
        UnicodeDecodeError,
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
    ) as error:
        raise ValueError(f"path: cannot read {spec.path}: {str(error).splitlines()[0]}") from None
    if len(frame) < 10:
        raise ValueError(f"path: {spec.path} has {len(frame)} rows, need at least 10")
    if spec.target not in frame.columns:
        raise ValueError(f"target: column {spec.target!r} not in {spec.path}")
    target = frame.pop(spec.target)
    if target.isna().any():
        raise ValueError(f"target: column {spec.target!r} has missing values")
    if target.nunique() < 2:
        raise ValueError(f"target: column {spec.target!r} is constant")
    non_numeric = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise ValueError(f"path: feature column {non_numeric[0]!r} is not numeric")
    if frame.shape[1] == 0:
        raise ValueError(f"path: {spec.path} has no feature columns besides the target")
    x = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    x = np.where(np.isnan(x), np.nanmean(x, axis=0), x)
    if pd.api.types.is_float_dtype(target) and target.nunique() > 20:
        return x, target.to_numpy(dtype=np.float64), "regression", 0
    codes, _ = pd.factorize(target, sort=True)
    return x, codes.astype(np.int64), "classification", int(codes.max()) + 1


def _kfold(
    x: np.ndarray, y: np.ndarray, task: Task, n_classes: int, folds: int, seed: int
) -> Dataset:
    """K folds (stratified for classification), each standardized on its own training part."""
    parts = tuple(
        _standardize(x, y, task, n_classes, train, val)
        for train, val in fold_indices(x, y, task, folds, seed)
    )
    first = parts[0]
    return Dataset(
        first.x_train, first.y_train, first.x_val, first.y_val, task, n_classes, folds=parts
    )


def fold_indices(
    x: np.ndarray, y: np.ndarray, task: Task, folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The K (train, validation) index pairs: stratified for classification where every class
    has K members, else plain K-fold; shuffled with ``seed``. The mlp and scikit-learn
    trainables use the same folds, and so can a GridSearchCV (``KFold(K, shuffle=True,
    random_state=seed)``)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    splitter = (
        StratifiedKFold(folds, shuffle=True, random_state=seed)
        if task == "classification" and np.bincount(y.astype(np.int64)).min() >= folds
        else KFold(folds, shuffle=True, random_state=seed)
    )
    return [(train, val) for train, val in splitter.split(x, y)]


@functools.lru_cache(maxsize=4)
def load_arrays(spec: DataSpec) -> tuple[np.ndarray, np.ndarray, Task, int]:
    """The dataset of ``spec`` as it is, unscaled (x float64, y labels or targets), for
    estimators that bring their own preprocessing (scikit-learn), with its task and classes."""
    if spec.path is not None:
        return _read_table(spec)
    return _synthetic(spec)


def split_indices(spec: DataSpec) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, validation) index pairs of ``spec``'s arrays: its K folds, or the one
    ``val_fraction`` split that ``load_dataset`` makes."""
    x, y, task, _ = load_arrays(spec)
    if spec.folds >= 2:
        return fold_indices(x, y, task, spec.folds, spec.seed)
    order = np.random.default_rng(spec.seed).permutation(len(x))
    n_val = max(1, round(len(x) * spec.val_fraction))
    return [(order[n_val:], order[:n_val])]


def _split(
    x: np.ndarray, y: np.ndarray, task: Task, n_classes: int, val_fraction: float, seed: int
) -> Dataset:
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = max(1, round(len(x) * val_fraction))
    val, train = order[:n_val], order[n_val:]
    return _standardize(x, y, task, n_classes, train, val)


def _standardize(
    x: np.ndarray, y: np.ndarray, task: Task, n_classes: int, train: np.ndarray, val: np.ndarray
) -> Dataset:
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    std[std == 0] = 1.0
    scaled = ((x - mean) / std).astype(np.float32)
    labels = y.astype(np.int64) if task == "classification" else y.astype(np.float32)
    return Dataset(scaled[train], labels[train], scaled[val], labels[val], task, n_classes)
