"""Packaged data sets: built or shipped locally, with their shapes and their own test splits."""

from __future__ import annotations

import random
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from caviar.trainables.data import DataSpec, load_dataset
from caviar.trainables.datasets import DATASETS, load_packaged, mnist1d_arrays

SKLEARN = {
    "digits": (1797, 64, 10),
    "iris": (150, 4, 3),
    "wine": (178, 13, 3),
    "breast_cancer": (569, 30, 2),
}


@pytest.mark.parametrize("name", SKLEARN)
def test_scikit_learns_shipped_sets(name: str) -> None:
    rows, features, classes = SKLEARN[name]
    data = load_dataset(DataSpec.from_dict({"dataset": name, "val_fraction": 0.25}))
    assert len(data.x_train) + len(data.x_val) == rows
    assert (data.n_features, data.n_classes, data.task) == (features, classes, "classification")
    assert data.x_test is None


def test_digits_are_8x8_images_and_test_fraction_gives_them_a_test_set() -> None:
    data = load_dataset(DataSpec.from_dict({"dataset": "digits", "test_fraction": 0.2}))
    assert data.shape == (1, 8, 8)
    assert data.x_test is not None and len(data.x_test) == 359
    assert len(data.x_train) + len(data.x_val) == 1797 - 359


def test_a_spec_shape_overrides_the_packaged_one() -> None:
    data = load_dataset(DataSpec.from_dict({"dataset": "digits", "shape": [64]}))
    assert data.shape == (64,)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection attempt fails the test: packaged data must be made on this machine."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("packaged data tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_mnist1d_is_built_locally_once_and_kept(
    no_network: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("mnist1d")
    from mnist1d.data import get_dataset_args

    monkeypatch.setenv("CAVIAR_CACHE", str(tmp_path / "cache"))
    args = {**vars(get_dataset_args()), "num_samples": 200}
    np.random.seed(7)
    random.seed(7)
    before = np.random.get_state()[1].copy(), random.getstate()  # type: ignore[index]
    built = mnist1d_arrays(args)
    assert np.array_equal(np.random.get_state()[1], before[0])  # type: ignore[index]
    assert random.getstate() == before[1]  # the caller's random streams are left alone
    assert built["x"].shape == (160, 40) and built["x_test"].shape == (40, 40)
    [kept] = (tmp_path / "cache").iterdir()
    again = mnist1d_arrays(args)  # from the cache: the same arrays
    for name in ("x", "y", "x_test", "y_test"):
        np.testing.assert_array_equal(again[name], built[name])
    kept.write_bytes(b"damaged")  # a damaged cache file is built again
    np.testing.assert_array_equal(mnist1d_arrays(args)["x"], built["x"])


@pytest.mark.slow
def test_mnist1d_has_4000_training_rows_and_its_own_1000_test_rows(no_network: None) -> None:
    pytest.importorskip("mnist1d")
    packaged = load_packaged("mnist1d")
    assert packaged.x.shape == (4000, 40) and packaged.x_test is not None
    assert packaged.x_test.shape == (1000, 40) and packaged.shape == (1, 40)
    assert sorted(set(packaged.y.tolist())) == list(range(10))
    data = load_dataset(DataSpec.from_dict({"dataset": "mnist1d"}))
    assert (len(data.x_train), len(data.x_val), data.n_classes) == (3200, 800, 10)
    assert data.x_test is not None and data.y_test is not None
    assert len(data.x_test) == 1000 and data.shape == (1, 40)
    np.testing.assert_array_equal(data.y_test, packaged.y_test)  # type: ignore[arg-type]


def test_every_packaged_name_is_known() -> None:
    assert set(DATASETS) == {"mnist1d", *SKLEARN}
    with pytest.raises(ValueError, match=r"^dataset: unknown 'nope'"):
        load_packaged("nope")
