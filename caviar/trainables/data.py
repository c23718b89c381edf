"""Datasets for trainables: synthetic ones made from a seed, a user's Parquet/CSV tables, or a
packaged set (``caviar.trainables.datasets``), split into training, validation and test parts.

- Validation: the ``validation:`` file, else ``val_fraction`` of the training rows (or K folds).
- Test: the ``test:`` file, the packaged set's own test split (MNIST-1D), or ``test_fraction`` of
  the rows, held out before the validation split. It is never used for selection: only
  ``caviar.trainables.evaluate`` reads it, once, for the trials a sweep selected.

A dataset is loaded once per process (``load_dataset`` is cached on the frozen ``DataSpec``): in a
sweep, on the driver, which checks it and ships it to the trials (``caviar.tune.build.trainable``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from caviar.trainables.datasets import DATASETS, load_packaged

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
    "validation",
    "test",
    "dataset",
    "shape",
    "val_fraction",
    "test_fraction",
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
    validation: str | None = None  # a file with the training file's columns
    test: str | None = None  # a file with the training file's columns, scored once at the end
    dataset: str | None = None  # a packaged set (datasets.DATASETS)
    shape: tuple[int, ...] | None = None  # one row's shape for the cnn: [1, 40], [1, 8, 8]
    val_fraction: float = 0.2
    test_fraction: float = 0.0  # > 0: held out as the test set when there is none
    folds: int = 0  # K >= 2: K-fold cross-validation instead of one val_fraction split

    def __post_init__(self) -> None:
        self._check_source()
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
        self._check_held_out()
        self._check_shape()

    def _check_source(self) -> None:
        if self.path is not None and self.dataset is not None:
            raise ValueError(f"dataset: give path or dataset, not both, got {self.dataset!r}")
        if self.dataset is not None and self.dataset not in DATASETS:
            raise ValueError(
                f"dataset: unknown {self.dataset!r} (known: {', '.join(sorted(DATASETS))})"
            )
        if (
            self.path is None
            and self.dataset is None
            and self.synthetic not in ("classification", "regression")
        ):
            raise ValueError(
                f"synthetic: must be 'classification' or 'regression', got {self.synthetic!r}"
            )
        if self.path is not None and self.target is None:
            raise ValueError("target: required with path (the name of the label column)")
        for key in ("validation", "test"):
            if getattr(self, key) is not None and self.path is None:
                raise ValueError(
                    f"{key}: a file goes with path (the training file), got {getattr(self, key)!r}"
                )

    def _check_held_out(self) -> None:
        fraction = self.test_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, int | float):
            raise ValueError(f"test_fraction: must be a number, got {fraction!r}")
        if not 0 <= fraction < 1 or fraction + self.val_fraction >= 1:
            raise ValueError(
                f"test_fraction: must be in [0, 1) with test_fraction + val_fraction < 1, "
                f"got {fraction}"
            )
        if fraction and (self.test is not None or self.dataset == "mnist1d"):
            source = "the test file" if self.test is not None else "mnist1d's own test split"
            raise ValueError(f"test_fraction: the test set is {source}, got {fraction}")
        if self.validation is not None and self.folds:
            raise ValueError(
                f"folds: cross-validation splits the training rows; "
                f"drop it or validation, got {self.folds}"
            )

    def _check_shape(self) -> None:
        shape = self.shape
        if shape is None:
            return
        if (
            not isinstance(shape, tuple)
            or not 1 <= len(shape) <= 3
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)
        ):
            raise ValueError(
                f"shape: must be 1 to 3 positive integers ([length], [channels, length] or "
                f"[channels, height, width]), got {_listed(shape)}"
            )
        if self.path is None and self.dataset is None:
            check_shape(shape, self.n_features)

    @classmethod
    def from_dict(cls, mapping: dict[str, Any]) -> DataSpec:
        """Build from a spec's ``data:``; unknown keys are errors that name the key."""
        unknown = set(mapping) - DATA_KEYS
        if unknown:
            raise ValueError(
                f"{sorted(unknown)[0]}: unknown key (known: {', '.join(sorted(DATA_KEYS))})"
            )
        values = dict(mapping)
        if "path" in values or "dataset" in values:
            values.setdefault("synthetic", None)
        for key in ("path", "validation", "test"):
            if values.get(key) is not None:
                values[key] = str(values[key])
        if isinstance(values.get("shape"), list):
            values["shape"] = tuple(values["shape"])
        return cls(**values)


def check_shape(shape: tuple[int, ...], n_features: int) -> None:
    """ValueError naming ``shape`` unless its values number the data's feature columns."""
    if math.prod(shape) != n_features:
        raise ValueError(
            f"shape: {_listed(shape)} holds {math.prod(shape)} values, "
            f"but the data has {n_features} feature columns"
        )


def _listed(shape: Any) -> str:
    return str(list(shape)) if isinstance(shape, tuple | list) else repr(shape)


@dataclass(frozen=True)
class Dataset:
    """Train/validation (and test) arrays, standardized on the training part, ready for a model."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    task: Task
    n_classes: int  # 0 for regression
    folds: tuple[Dataset, ...] = ()  # with ``folds: K``: K train/val splits; self is the first
    x_test: np.ndarray | None = None  # scored once, for selected trials (trainables.evaluate)
    y_test: np.ndarray | None = None
    shape: tuple[int, ...] | None = None  # one row's shape (data.shape or the packaged set's)

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


@dataclass(frozen=True)
class _Raw:
    """The data as read, unscaled: the training rows and whatever held-out rows came with them."""

    x: np.ndarray
    y: np.ndarray
    task: Task
    n_classes: int
    val: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray] | None
    shape: tuple[int, ...] | None


@functools.lru_cache(maxsize=4)
def _raw(spec: DataSpec) -> _Raw:
    if spec.path is not None:
        from caviar.trainables.tables import read_tables  # pandas: only for a user's tables

        assert spec.target is not None
        tables = read_tables(spec.path, spec.target, spec.validation, spec.test)
        raw = _Raw(
            tables.x, tables.y, tables.task, tables.n_classes, tables.val, tables.test, spec.shape
        )
    elif spec.dataset is not None:
        packaged = load_packaged(spec.dataset)
        test = None if packaged.x_test is None else (packaged.x_test, packaged.y_test)
        n_classes = int(packaged.y.max()) + 1
        raw = _Raw(
            packaged.x,
            packaged.y,
            "classification",
            n_classes,
            None,
            test,  # type: ignore[arg-type]  # y_test is set with x_test
            spec.shape or packaged.shape,
        )
    else:
        x, y, task, n_classes = _synthetic(spec)
        raw = _Raw(x, y, task, n_classes, None, None, spec.shape)
    if raw.shape is not None:
        check_shape(raw.shape, int(raw.x.shape[1]))
    if spec.test_fraction > 0:
        order = np.random.default_rng([spec.seed, 1]).permutation(len(raw.x))
        n_test = max(1, round(len(raw.x) * spec.test_fraction))
        held, kept = order[:n_test], order[n_test:]
        raw = _Raw(
            raw.x[kept],
            raw.y[kept],
            raw.task,
            raw.n_classes,
            raw.val,
            (raw.x[held], raw.y[held]),
            raw.shape,
        )
    return raw


@functools.lru_cache(maxsize=4)
def load_dataset(spec: DataSpec) -> Dataset:
    """The dataset of ``spec``: generated, read or built, then split and standardized."""
    raw = _raw(spec)
    if raw.val is not None:
        x = np.concatenate([raw.x, raw.val[0]])
        y = np.concatenate([raw.y, raw.val[1]])
        train, val = np.arange(len(raw.x)), np.arange(len(raw.x), len(x))
        return _standardize(x, y, raw, train, val)
    if spec.folds >= 2:
        parts = tuple(
            _standardize(raw.x, raw.y, raw, train, val)
            for train, val in fold_indices(raw.x, raw.y, raw.task, spec.folds, spec.seed)
        )
        first = parts[0]
        return Dataset(
            first.x_train,
            first.y_train,
            first.x_val,
            first.y_val,
            raw.task,
            raw.n_classes,
            parts,
            first.x_test,
            first.y_test,
            raw.shape,
        )
    [(train, val)] = split_indices(spec)
    return _standardize(raw.x, raw.y, raw, train, val)


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


def load_arrays(spec: DataSpec) -> tuple[np.ndarray, np.ndarray, Task, int]:
    """The training (and validation) rows of ``spec`` as they are, unscaled (x float64, y labels
    or targets), for estimators that bring their own preprocessing (scikit-learn), with its task
    and classes. With a validation file its rows follow the training rows (``split_indices``)."""
    raw = _raw(spec)
    if raw.val is None:
        return raw.x, raw.y, raw.task, raw.n_classes
    x = np.concatenate([raw.x, raw.val[0]])
    return x, np.concatenate([raw.y, raw.val[1]]), raw.task, raw.n_classes


def load_test_arrays(spec: DataSpec) -> tuple[np.ndarray, np.ndarray] | None:
    """The test rows of ``spec``, unscaled, or None when it has no test set."""
    return _raw(spec).test


def split_indices(spec: DataSpec) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, validation) index pairs of ``spec``'s arrays (``load_arrays``): the validation
    file's rows, its K folds, or the one ``val_fraction`` split that ``load_dataset`` makes."""
    raw = _raw(spec)
    if raw.val is not None:
        n_train = len(raw.x)
        return [(np.arange(n_train), np.arange(n_train, n_train + len(raw.val[0])))]
    if spec.folds >= 2:
        return fold_indices(raw.x, raw.y, raw.task, spec.folds, spec.seed)
    order = np.random.default_rng(spec.seed).permutation(len(raw.x))
    n_val = max(1, round(len(raw.x) * spec.val_fraction))
    return [(order[n_val:], order[:n_val])]


def _standardize(
    x: np.ndarray, y: np.ndarray, raw: _Raw, train: np.ndarray, val: np.ndarray
) -> Dataset:
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    std[std == 0] = 1.0

    def scale(values: np.ndarray) -> np.ndarray:
        return ((values - mean) / std).astype(np.float32)

    def labels(values: np.ndarray) -> np.ndarray:
        return (
            values.astype(np.int64) if raw.task == "classification" else values.astype(np.float32)
        )

    scaled = scale(x)
    x_test = y_test = None
    if raw.test is not None:
        x_test, y_test = scale(raw.test[0]), labels(raw.test[1])
    return Dataset(
        scaled[train],
        labels(y[train]),
        scaled[val],
        labels(y[val]),
        raw.task,
        raw.n_classes,
        x_test=x_test,
        y_test=y_test,
        shape=raw.shape,
    )
