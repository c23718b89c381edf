"""The problems of the anytime benchmark (benchmarks/mnist1d.py), defined once for every tool.

A problem is fixed arrays (train / validation / test, standardized on the training rows), one of
caviar's built-in model families (the mlp or the cnn) and one search space, written here once as a
table and rendered three ways: caviar's YAML strings, Optuna's ``trial.suggest_*`` calls and Ray
Tune's domains. Every tool trains the same model on the same rows with the same space and epochs;
only the search and the early stopping differ.

- ``mnist1d`` (mlp) and ``mnist1d_cnn`` (cnn, rows shaped [1, 40]): MNIST-1D (Greydanus 2020),
  built locally by the ``mnist1d`` package (``make_dataset(get_dataset_args())``, nothing
  downloaded): 4,000 training rows (of which 800 are held out for validation, seeded) and the
  package's 1,000 test rows, 40 features, 10 classes. The paper: logistic regression 32%, MLP 68%,
  CNN 94%, GRU 91%, human 96% test accuracy.
- ``digits`` (mlp): scikit-learn's shipped 8x8 digits (1,797 rows, 64 features, 10 classes),
  split 60 / 20 / 20 into train / validation / test, stratified and seeded.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
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
        args = ", ".join(repr(v) if isinstance(v, str | bool) else f"{v:g}" for v in self.values)
        return f"{self.kind}({args})"


Space = tuple[Param, ...]

# The mlp's space. Widths and depths are choices so that fused bundles can form.
MLP_SPACE: Space = (
    Param("lr", "loguniform", (1e-4, 3e-2)),
    Param("weight_decay", "loguniform", (1e-6, 1e-2)),
    Param("dropout", "uniform", (0.0, 0.5)),
    Param("hidden_units", "choice", (64, 128, 256)),
    Param("layers", "choice", (1, 2, 3)),
    Param("batch_size", "choice", (32, 64, 128)),
)
# The cnn's: the architecture knobs that matter on MNIST-1D (batch norm most: about 0.90 without,
# 0.97 with, examples/cnn_mnist1d.yaml), the optimizer's lr and weight decay, and the batch.
CNN_SPACE: Space = (
    Param("channels", "choice", (16, 32, 64)),
    Param("kernel", "choice", (3, 5, 7)),
    Param("conv_layers", "choice", (2, 3, 4)),
    Param("batch_norm", "choice", (True, False)),
    Param("hidden_units", "choice", (0, 128)),
    Param("dropout", "uniform", (0.0, 0.2)),
    Param("lr", "loguniform", (3e-4, 1e-2)),
    Param("weight_decay", "loguniform", (1e-6, 1e-3)),
    Param("batch_size", "choice", (32, 64, 128)),
)
# Constants every tool's model uses (caviar's built-in defaults, written out).
MLP_FIXED: dict[str, Any] = {"optimizer": "adam", "activation": "relu"}
CNN_FIXED: dict[str, Any] = {"optimizer": "adam", "pool": "max", "lr_schedule": "cosine"}
# The hand-tuned configs of panda mode (one model, watched, trained longer): Adam's usual lr, a
# wide two-layer net (the mlp) or three batch-normed conv blocks (the cnn), a little dropout and
# weight decay.
MLP_PANDA: dict[str, Any] = {
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "dropout": 0.1,
    "hidden_units": 256,
    "layers": 2,
    "batch_size": 64,
}
CNN_PANDA: dict[str, Any] = {
    "channels": 32,
    "kernel": 5,
    "conv_layers": 3,
    "batch_norm": True,
    "hidden_units": 0,
    "dropout": 0.1,
    "lr": 3e-3,
    "weight_decay": 1e-4,
    "batch_size": 64,
}


def caviar_space(space: Space) -> dict[str, Any]:
    """The space as a caviar spec's ``space:`` (strings parsed by caviar.search_spaces)."""
    return {p.name: p.caviar() for p in space}


def optuna_params(trial: Any, space: Space) -> dict[str, Any]:
    """The space as an Optuna user writes it: one ``trial.suggest_*`` per parameter."""
    config: dict[str, Any] = {}
    for p in space:
        if p.kind == "choice":
            config[p.name] = trial.suggest_categorical(p.name, list(p.values))
        else:
            config[p.name] = trial.suggest_float(
                p.name, p.values[0], p.values[1], log=p.kind == "loguniform"
            )
    return config


def ray_space(space: Space) -> dict[str, Any]:
    """The space as a Ray Tune user writes it (``tune.loguniform`` etc.)."""
    from ray import tune

    kinds = {
        "loguniform": lambda v: tune.loguniform(*v),
        "uniform": lambda v: tune.uniform(*v),
        "choice": lambda v: tune.choice(list(v)),
    }
    return {p.name: kinds[p.kind](p.values) for p in space}


@dataclass(frozen=True)
class Arrays:
    """A problem's rows, standardized on the training rows (float32 features, int64 labels), and
    one row's shape for the cnn."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    shape: tuple[int, ...] = ()

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
    data: str  # whose rows: mnist1d or digits (``write_tables``)
    model: str  # caviar's built-in family that every tool trains: mlp or cnn
    epochs: int  # every tool's trials train at most this many epochs
    panda_epochs: int  # panda mode's one model trains longer
    target: float  # time to target: the selected model's test accuracy
    paper: float | None = None  # the paper's test accuracy for this model, where it gives one
    space: Space = MLP_SPACE
    fixed: dict[str, Any] = field(default_factory=lambda: dict(MLP_FIXED))
    panda: dict[str, Any] = field(default_factory=lambda: dict(MLP_PANDA))


PROBLEMS = {
    "mnist1d": Problem(
        "mnist1d", "MNIST-1D, mlp", "mnist1d", "mlp", 30, 90, target=0.68, paper=0.68
    ),
    "mnist1d_cnn": Problem(
        "mnist1d_cnn",
        "MNIST-1D, cnn",
        "mnist1d",
        "cnn",
        15,
        30,
        target=0.94,
        paper=0.94,
        space=CNN_SPACE,
        fixed=dict(CNN_FIXED),
        panda=dict(CNN_PANDA),
    ),
    "digits": Problem("digits", "digits, mlp", "digits", "mlp", 20, 60, target=0.97),
}
SHAPES = {"mnist1d": (1, 40), "digits": (1, 8, 8)}  # one row, as the cnn takes it


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
    raise ValueError(f"unknown data {name!r} (known: {', '.join(SHAPES)})")


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
        SHAPES[name],
    )


@functools.lru_cache(maxsize=4)
def arrays(path: str) -> Arrays:
    """A problem's rows from the ``.npz`` that ``write_tables`` made, read once per process (every
    trial in a worker shares them; generating MNIST-1D takes seconds, reading it milliseconds)."""
    with np.load(path) as saved:
        fields = {key: saved[key] for key in Arrays.__dataclass_fields__}
        return Arrays(**{**fields, "shape": tuple(int(n) for n in fields["shape"])})


def write_tables(name: str, directory: Path) -> dict[str, Path]:
    """The rows of the data ``name`` (a problem's ``data``) as files: ``arrays`` (the standardized
    ``.npz`` every tool's trials read), and the unscaled rows as Parquet a caviar spec can name:
    train, val, test and trainval (train + val, for a caviar without a ``validation:`` key)."""
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
