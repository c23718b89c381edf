"""Packaged data sets for ``data: {dataset: NAME}``: made or shipped by a package, never downloaded.

- ``mnist1d``: Greydanus (2020), "Scaling Down Deep Learning", built on this machine by the
  ``mnist1d`` package (``make_dataset(get_dataset_args())``: 4000 training and 1000 test rows of
  40 values, 10 classes; install ``caviar-sweep[mnist1d]``). Its own test split is the test set.
  Built once per machine and kept in ``cache_dir()``.
- ``digits``, ``iris``, ``wine``, ``breast_cancer``: the tables scikit-learn ships with itself.

Each comes with the shape of one row for the cnn (``[1, 40]`` for MNIST-1D, ``[1, 8, 8]`` for
digits), used unless the spec gives ``data.shape``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Packaged:
    """A packaged data set: training rows, optional test rows of its own, and one row's shape."""

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    shape: tuple[int, ...] | None


def _mnist1d() -> Packaged:
    try:
        from mnist1d.data import get_dataset_args
    except ImportError:
        raise ValueError(
            "dataset: 'mnist1d' needs the mnist1d package (pip install 'caviar-sweep[mnist1d]')"
        ) from None
    arrays = mnist1d_arrays(vars(get_dataset_args()))
    x, x_test = arrays["x"].astype(np.float64), arrays["x_test"].astype(np.float64)
    y, y_test = arrays["y"].astype(np.int64), arrays["y_test"].astype(np.int64)
    return Packaged(x, y, x_test, y_test, (1, int(x.shape[1])))


def cache_dir() -> Path:
    """Where built data sets are kept: ``$CAVIAR_CACHE``, else ``$XDG_CACHE_HOME/caviar``."""
    if os.environ.get("CAVIAR_CACHE"):
        return Path(os.environ["CAVIAR_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "caviar"


def mnist1d_arrays(args: dict[str, Any]) -> dict[str, np.ndarray]:
    """MNIST-1D built by ``mnist1d.data.make_dataset`` with ``args``: x, y, x_test, y_test.

    Building takes seconds of CPU (scipy transforms of each row), and every worker process that
    loads the data would pay it: the arrays are kept in ``cache_dir()``, named by the package's
    version and the arguments, and written atomically. (``get_dataset`` would download the
    arrays instead; it is not used.)
    """
    from importlib.metadata import version

    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    key = json.dumps({"version": version("mnist1d"), **args}, sort_keys=True, default=str)
    path = cache_dir() / f"mnist1d-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
    with contextlib.suppress(OSError, ValueError, KeyError), np.load(path) as cached:
        return {name: cached[name] for name in ("x", "y", "x_test", "y_test")}
    # make_dataset seeds numpy's and Python's global RNGs with its own seed (42), to build the
    # same data everywhere: keep the caller's streams.
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(ObjectView(dict(args)))
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    arrays = {name: np.asarray(data[name]) for name in ("x", "y", "x_test", "y_test")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as out:
            np.savez(out, **arrays)  # type: ignore[arg-type]
        os.replace(out.name, path)
    except OSError as error:  # a read-only home: build again next time
        logger.info("mnist1d: cannot cache the built arrays in %s: %s", path.parent, error)
    return arrays


def _sklearn(name: str, shape: tuple[int, ...] | None = None) -> Callable[[], Packaged]:
    def load() -> Packaged:
        import sklearn.datasets

        x, y = getattr(sklearn.datasets, f"load_{name}")(return_X_y=True)
        return Packaged(np.asarray(x, np.float64), np.asarray(y, np.int64), None, None, shape)

    return load


DATASETS: dict[str, Callable[[], Packaged]] = {
    "mnist1d": _mnist1d,
    "digits": _sklearn("digits", (1, 8, 8)),
    "iris": _sklearn("iris"),
    "wine": _sklearn("wine"),
    "breast_cancer": _sklearn("breast_cancer"),
}


def load_packaged(name: str) -> Packaged:
    """The data set ``name`` (one of ``DATASETS``); ValueError naming ``dataset`` otherwise."""
    loader = DATASETS.get(name)
    if loader is None:
        raise ValueError(f"dataset: unknown {name!r} (known: {', '.join(sorted(DATASETS))})")
    return loader()
