"""The same Parquet read by caviar.read_*, pandas, DuckDB and polars: same rows, same types."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pytest

import caviar
from tests.results.synthetic import drive, make_callback, make_trials

# caviar's pandas dtype -> what DuckDB and polars call the same Parquet type
TYPES = {
    "str": ("VARCHAR", pl.String),
    "Int64": ("BIGINT", pl.Int64),
    "float64": ("DOUBLE", pl.Float64),
    "boolean": ("BOOLEAN", pl.Boolean),
    "datetime64[us, UTC]": ("TIMESTAMP WITH TIME ZONE", pl.Datetime("us", "UTC")),
}


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """A finished sweep with nulls in an int and a string hyperparameter (conditional ones)."""
    path = tmp_path / "s"
    callback = make_callback(path, flush_rows=7, flush_seconds=1e9)
    callback.setup()
    trials = make_trials(6)
    for trial in trials[::2]:
        del trial.config["units"], trial.config["opt"]
    list(drive(callback, trials, range(1, 6)))
    for trial in trials:
        trial.status = "TERMINATED"
    callback.on_experiment_end(trials)
    return path


@pytest.mark.parametrize("table", ["trials", "curves"])
def test_duckdb_polars_and_caviar_agree_on_rows_and_types(sweep: Path, table: str) -> None:
    if table == "trials":
        ours = caviar.read_trials(str(sweep))
        pattern = str(sweep / "trials.parquet")
    else:
        ours = caviar.read_curves(str(sweep))
        pattern = str(sweep / "curves" / "*.parquet")
    relation = duckdb.sql(f"select * from read_parquet('{pattern}')")
    frame = pl.read_parquet(pattern)
    count = duckdb.sql(f"select count(*) from read_parquet('{pattern}')").fetchall()[0][0]
    assert len(ours) == len(frame) == count
    assert list(ours.columns) == relation.columns == frame.columns
    for column, duck_type in zip(relation.columns, relation.types, strict=True):
        duck, polar = TYPES[str(ours[column].dtype)]
        assert (str(duck_type), frame.schema[column]) == (duck, polar), column
    if table == "trials":
        assert str(ours["units"].dtype) == "Int64" and ours["units"].isna().sum() == 3
        assert frame["units"].null_count() == 3
    pandas_direct = pd.read_parquet(pattern if table == "trials" else sweep / "curves")
    assert len(pandas_direct) == len(ours)
