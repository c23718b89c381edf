"""Held-out data: validation and test files, test_fraction, shapes, and their one-line errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from caviar.trainables.data import (
    DataSpec,
    load_arrays,
    load_dataset,
    load_test_arrays,
    split_indices,
)


def _frame(n: int, seed: int, labels: tuple[str, ...] = ("cat", "dog", "owl")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(3.0, 2.0, n),
            "b": rng.normal(-1.0, 0.5, n),
            "label": [labels[i % len(labels)] for i in range(n)],
        }
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {name: tmp_path / f"{name}.parquet" for name in ("train", "val", "test")}
    _frame(60, 0).to_parquet(paths["train"])
    _frame(20, 1).to_parquet(paths["val"])
    _frame(30, 2)[["label", "b", "a"]].to_csv(tmp_path / "test.csv", index=False)  # other order
    paths["test"] = tmp_path / "test.csv"
    return paths


def _spec(files: dict[str, Path], **extra: Any) -> DataSpec:
    return DataSpec.from_dict({"path": files["train"], "target": "label", **extra})


def test_validation_and_test_files_are_scaled_with_the_training_files_statistics(
    files: dict[str, Path],
) -> None:
    data = load_dataset(_spec(files, validation=files["val"], test=files["test"]))
    train, val = _frame(60, 0), _frame(20, 1)
    test = pd.read_csv(files["test"])
    mean, std = train[["a", "b"]].mean(), train[["a", "b"]].std(ddof=0)
    assert data.x_train.shape == (60, 2) and data.x_val.shape == (20, 2)
    assert data.x_test is not None and data.y_test is not None
    np.testing.assert_allclose(data.x_val, ((val[["a", "b"]] - mean) / std).to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(data.x_test, ((test[["a", "b"]] - mean) / std).to_numpy(), rtol=1e-5)
    classes = {"cat": 0, "dog": 1, "owl": 2}
    assert data.y_val.tolist() == [classes[v] for v in val["label"]]
    assert data.y_test.tolist() == [classes[v] for v in test["label"]]


def test_without_test_there_is_no_test_set(files: dict[str, Path]) -> None:
    spec = _spec(files, validation=files["val"])
    assert load_dataset(spec).x_test is None
    assert load_test_arrays(spec) is None


def test_estimators_see_the_validation_file_as_their_one_split(files: dict[str, Path]) -> None:
    spec = _spec(files, validation=files["val"], test=files["test"])
    x, _, task, n_classes = load_arrays(spec)
    [(train, val)] = split_indices(spec)
    assert (task, n_classes, len(x)) == ("classification", 3, 80)
    assert train.tolist() == list(range(60)) and val.tolist() == list(range(60, 80))
    np.testing.assert_allclose(x[60:], _frame(20, 1)[["a", "b"]].to_numpy())
    held = load_test_arrays(spec)
    assert held is not None and len(held[0]) == 30


def test_test_fraction_holds_rows_out_before_the_validation_split() -> None:
    spec = DataSpec(n_samples=500, n_features=6, test_fraction=0.2, seed=3)
    data = load_dataset(spec)
    assert data.x_test is not None
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (320, 80, 100)
    rows = {tuple(r) for r in np.concatenate([data.x_train, data.x_val])}
    assert not rows & {tuple(r) for r in data.x_test}
    assert load_dataset(DataSpec(n_samples=500, n_features=6, seed=3)).x_test is None


def test_folds_scale_the_test_set_with_each_folds_training_part(files: dict[str, Path]) -> None:
    data = load_dataset(_spec(files, test=files["test"], folds=3))
    assert len(data.folds) == 3
    raw = pd.read_csv(files["test"])[["a", "b"]].to_numpy()
    train = _frame(60, 0)[["a", "b"]].to_numpy()
    for fold, (rows, _) in zip(data.folds, split_indices(_spec(files, folds=3)), strict=True):
        expected = (raw - train[rows].mean(axis=0)) / train[rows].std(axis=0)
        assert fold.x_test is not None
        np.testing.assert_allclose(fold.x_test, expected, rtol=1e-5)


def test_a_resolved_spec_round_trips(files: dict[str, Path]) -> None:
    spec = _spec(files, validation=files["val"], test=files["test"], shape=[2])
    plain = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in plain.items() if v is not None}
    assert DataSpec.from_dict(plain) == spec
    assert spec.shape == (2,)


BAD: dict[str, tuple[dict[str, Any], str]] = {
    "shape of another size": (
        {"n_features": 20, "shape": [1, 40]},
        r"shape: \[1, 40\] holds 40 values, but the data has 20 feature columns",
    ),
    "shape not integers": ({"n_features": 4, "shape": [2, "x"]}, r"shape: must be 1 to 3 positive"),
    "shape of four sides": ({"n_features": 1, "shape": [1, 1, 1, 1]}, r"shape: must be 1 to 3"),
    "shape zero": ({"n_features": 4, "shape": [0, 4]}, r"shape: must be 1 to 3 positive"),
    "unknown dataset": ({"dataset": "mnist2d"}, r"dataset: unknown 'mnist2d' \(known: .*digits"),
    "dataset and path": ({"dataset": "digits", "path": "x.csv"}, r"dataset: give path or dataset"),
    "validation without path": ({"validation": "v.csv"}, r"validation: a file goes with path"),
    "test without path": ({"dataset": "digits", "test": "t.csv"}, r"test: a file goes with path"),
    "test_fraction too big": ({"test_fraction": 0.8}, r"test_fraction: must be in \[0, 1\)"),
    "test_fraction with mnist1d": (
        {"dataset": "mnist1d", "test_fraction": 0.1},
        r"test_fraction: the test set is mnist1d's own test split",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_data_keys_name_the_key_and_the_value(case: str) -> None:
    values, message = BAD[case]
    with pytest.raises(ValueError, match=f"^{message}"):
        DataSpec.from_dict(values)


def test_validation_with_folds_is_refused(files: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match=r"^folds: cross-validation splits the training rows"):
        _spec(files, validation=files["val"], folds=3)


def test_test_fraction_with_a_test_file_is_refused(files: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match=r"^test_fraction: the test set is the test file"):
        _spec(files, test=files["test"], test_fraction=0.1)


def _write(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_parquet(path)
    return path


LOAD_ERRORS: dict[str, tuple[str, Any, str]] = {
    "test columns differ": (
        "test",
        lambda f: f.rename(columns={"b": "c"}),
        r"test: the columns of .*other\.parquet differ from the training file's: "
        r"missing \['b'\], extra \['c'\]",
    ),
    "validation lacks the target": (
        "validation",
        lambda f: f.drop(columns="label"),
        r"validation: the columns of .* differ from the training file's: missing \['label'\]",
    ),
    "test label unseen": (
        "test",
        lambda f: f.assign(label="emu"),
        r"test: label 'emu' is not among the training file's labels",
    ),
    "test strings": (
        "test",
        lambda f: f.assign(a="x"),
        r"test: feature column 'a' of .* is not numeric",
    ),
}


@pytest.mark.parametrize("case", LOAD_ERRORS)
def test_held_out_files_must_match_the_training_file(
    files: dict[str, Path], tmp_path: Path, case: str
) -> None:
    key, change, message = LOAD_ERRORS[case]
    other = _write(tmp_path / "other.parquet", change(_frame(20, 5)))
    with pytest.raises(ValueError, match=f"^{message}"):
        load_dataset(_spec(files, **{key: other}))


def test_a_shape_is_checked_against_the_files_columns(files: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match=r"^shape: \[1, 3\] holds 3 values, but the data has 2"):
        load_dataset(_spec(files, shape=[1, 3]))
    assert load_dataset(_spec(files, shape=[1, 2])).shape == (1, 2)


def test_missing_validation_file_names_its_key(files: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^validation: file not found"):
        load_dataset(_spec(files, validation=tmp_path / "nope.parquet"))
