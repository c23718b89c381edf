"""Bad data fails `caviar run` with exit 2 and one line on stderr, before Ray or any trial starts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import run_cli, small_spec


def _good() -> pd.DataFrame:
    return pd.DataFrame({"a": range(20), "b": [0.5 * i for i in range(20)], "y": [0, 1] * 10})


def _missing_target(p: Path) -> None:
    _good().rename(columns={"y": "label"}).to_parquet(p)


def _constant_target(p: Path) -> None:
    _good().assign(y=1).to_parquet(p)


def _strings(p: Path) -> None:
    _good().assign(a=["x"] * 20).to_parquet(p)


def _empty(p: Path) -> None:
    p.write_bytes(b"")


def _unreadable(p: Path) -> None:
    p.write_bytes(b"this is not parquet at all" * 10)


CASES: dict[str, tuple[str, Callable[[Path], None] | None, str]] = {
    "missing target": ("t.parquet", _missing_target, "data.target: column 'y' not in"),
    "constant target": ("t.parquet", _constant_target, "data.target: column 'y' is constant"),
    "strings in features": ("t.parquet", _strings, "feature column 'a' is not numeric"),
    "empty csv": ("t.csv", _empty, "data.path: cannot read"),
    "empty parquet": ("t.parquet", _empty, "data.path: cannot read"),
    "not found": ("missing.parquet", None, "data.path: file not found"),
    "unreadable": ("t.parquet", _unreadable, "data.path: cannot read"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_data_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, case: str) -> None:
    name, make, message = CASES[case]
    table = tmp_path / name
    if make is not None:
        make(table)
    spec = small_spec(tmp_path, data={"path": str(table), "target": "y"})
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    done = run_cli("run", str(path))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "results").exists()
