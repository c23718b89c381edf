"""The problems of the anytime benchmark (benchmarks/mnist1d.py), defined once for every tool.

A problem is fixed arrays (train / validation / test, standardized on the training rows) and one
search space, written here once as a table and rendered three ways: caviar's YAML strings, Optuna's
``trial.suggest_*`` calls and Ray Tune's domains. Every tool trains the same model on the same rows
with the same space and epochs; only the search and the early stopping differ.

- ``mnist1d``: MNIST-1D (Greydanus 2020), built locally by the ``mnist1d`` package
  (``make_dataset(get_dataset_args())``, nothing downloaded): 4,000 training rows (of which 800 are
  held out for validation, seeded) and the package's 1,000 test rows, 40 features, 10 classes.
  The paper: logistic regression 32%, MLP 68%, CNN 94%, GRU 91%, human 96% test accuracy.
- ``digits``: scikit-learn's shipped 8x8 digits (1,797 rows, 64 features, 10 classes), split
  60 / 20 / 20 into train / validation / test, stratified and seeded.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SPLIT_SEED = 0
LABEL = "label"


@dataclass(frozen=True)
class Param:
    """One hyperparameter: ``kind`` is loguniform, uniform or choice; ``values`` its bounds or
    choices (bounds inclusive)."""

    name: str
    kind: str
    values: tuple[Any, ...]

    def caviar(self) -> str:
        args = ", ".join(repr(v) if isinstance(v, str) else f"{v:g}" for v in self.values)
        return f"{self.kind}({args})"


# The same space for every tool. Widths and depths are choices so that fused bundles can form.
SPACE: tuple[Param, ...] = (
    Param("lr", "loguniform", (1e-4, 3e-2)),
    Param("weight_decay", "loguniform", (1e-6, 1e-2)),
    Param("dropout", "uniform", (0.0, 0.5)),
    Param("hidden_units", "choice", (64, 128, 256)),
    Param("layers", "choice", (1, 2, 3)),
    Param("batch_size", "choice", (32, 64, 128)),
)
# Constants every tool's model uses (caviar's built-in mlp defaults, written out).
FIXED: dict[str, Any] = {"optimizer": "adam", "activation": "relu"}
# The hand-tuned config of panda mode (one model, watched, trained longer): Adam's usual lr, a
# wide two-layer net, a little dropout and weight decay.
PANDA: dict[str, Any] = {
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "dropout": 0.1,
    "hidden_units": 256,
    "layers": 2,
    "batch_size": 64,
}


def caviar_space() -> dict[str, Any]:
    """The space as a caviar spec's ``space:`` (strings parsed by caviar.search_spaces)."""
    return {p.name: p.caviar() for p in SPACE}


def optuna_params(trial: Any) -> dict[str, Any]:
    """The space as an Optuna user writes it: one ``trial.suggest_*`` per parameter."""
    config: dict[str, Any] = {}
    for p in SPACE:
        if p.kind == "choice":
            config[p.name] = trial.suggest_categorical(p.name, list(p.values))
        else:
            config[p.name] = trial.suggest_float(
                p.name, p.values[0], p.values[1], log=p.kind == "loguniform"
            )
    return config


def ray_space() -> dict[str, Any]:
    """The space as a Ray Tune user writes it (``tune.loguniform`` etc.)."""
    from ray import tune

    kinds = {
        "loguniform": lambda v: tune.loguniform(*v),
        "uniform": lambda v: tune.uniform(*v),
        "choice": lambda v: tune.choice(list(v)),
    }
    return {p.name: kinds[p.kind](p.values) for p in SPACE}


@dataclass(frozen=True)
class Arrays:
    """A problem's rows, standardized on the training rows (float32 features, int64 labels)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_val.max(), self.y_test.max())) + 1


@dataclass(frozen=True)
class Problem:
    name: str
    title: str
    epochs: int  # every tool's trials train at most this many epochs
    panda_epochs: int  # panda mode's one model trains longer
    paper_mlp: float | None  # the reference MLP test accuracy, where a paper gives one


PROBLEMS = {
    "mnist1d": Problem("mnist1d", "MNIST-1D", epochs=30, panda_epochs=90, paper_mlp=0.68),
    "digits": Problem("digits", "digits", epochs=20, panda_epochs=60, paper_mlp=None),
}


@functools.lru_cache(maxsize=2)
def _raw(
    name: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unscaled (x_train, y_train, x_val, y_val, x_test, y_test) of a problem."""
    from sklearn.model_selection import train_test_split

    if name == "mnist1d":
        from mnist1d.data import get_dataset_args, make_dataset

        data = make_dataset(get_dataset_args())  # generated from the package's seed: no download
        x, y = np.asarray(data["x"], np.float64), np.asarray(data["y"], np.int64)
        x_test, y_test = np.asarray(data["x_test"], np.float64), np.asarray(data["y_test"])
        x_train, x_val, y_train, y_val = train_test_split(
            x, y, test_size=0.2, stratify=y, random_state=SPLIT_SEED
        )
        return x_train, y_train, x_val, y_val, x_test, y_test.astype(np.int64)
    if name == "digits":
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        x_rest, x_test, y_rest, y_test = train_test_split(
            x, y, test_size=0.2, stratify=y, random_state=SPLIT_SEED
        )
        x_train, x_val, y_train, y_val = train_test_split(
            x_rest, y_rest, test_size=0.25, stratify=y_rest, random_state=SPLIT_SEED
        )
        return x_train, y_train, x_val, y_val, x_test, y_test
    raise ValueError(f"unknown problem {name!r} (known: {', '.join(PROBLEMS)})")


def _standardized(name: str) -> Arrays:
    x_train, y_train, x_val, y_val, x_test, y_test = _raw(name)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std == 0] = 1.0

    def scale(x: np.ndarray) -> np.ndarray:
        return ((x - mean) / std).astype(np.float32)

    return Arrays(
        scale(x_train),
        y_train.astype(np.int64),
        scale(x_val),
        y_val.astype(np.int64),
        scale(x_test),
        y_test.astype(np.int64),
    )


@functools.lru_cache(maxsize=4)
def arrays(path: str) -> Arrays:
    """A problem's rows from the ``.npz`` that ``write_tables`` made, read once per process (every
    trial in a worker shares them; generating MNIST-1D takes seconds, reading it milliseconds)."""
    with np.load(path) as saved:
        return Arrays(**{key: saved[key] for key in Arrays.__dataclass_fields__})


def write_tables(name: str, directory: Path) -> dict[str, Path]:
    """The problem's rows as files: ``arrays`` (the standardized ``.npz`` every tool's trials
    read), and the unscaled rows as Parquet a caviar spec can name: train, val, test and
    trainval (train + val, for a caviar without a ``validation:`` key)."""
    import pandas as pd

    directory.mkdir(parents=True, exist_ok=True)
    x_train, y_train, x_val, y_val, x_test, y_test = _raw(name)
    scaled = _standardized(name)
    paths = {"arrays": directory / f"{name}.npz"}
    np.savez(paths["arrays"], **{k: getattr(scaled, k) for k in Arrays.__dataclass_fields__})
    columns = [f"x{i}" for i in range(x_train.shape[1])]
    for split, (x, y) in {
        "train": (x_train, y_train),
        "val": (x_val, y_val),
        "test": (x_test, y_test),
        "trainval": (np.vstack([x_train, x_val]), np.concatenate([y_train, y_val])),
    }.items():
        frame = pd.DataFrame(x, columns=columns)
        frame[LABEL] = y.astype(np.int64)
        paths[split] = directory / f"{name}-{split}.parquet"
        frame.to_parquet(paths[split])
    return paths
