"""The `caviar` command as a user meets it: one-line errors with exit 2, and a real sweep."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

import caviar
from tests.conftest import run_cli, small_spec


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"spaec": {"lr": "loguniform(1e-4, 1)"}}, "spaec: unknown key"),
        ({"space": {"lr": "loguniform(0, 1)"}}, "space.lr: loguniform: low must be > 0, got 0"),
    ],
)
def test_bad_spec_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path,
    change: dict,
    fragment: str,  # type: ignore[type-arg]
) -> None:
    spec = small_spec(tmp_path)
    spec.update(change)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = run_cli("run", str(path))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "results").exists()


def test_missing_spec_file_exits_2(tmp_path: Path) -> None:
    result = run_cli("run", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"caviar: error: SPEC: file not found: {tmp_path / 'nope.yaml'}"


def test_unknown_option_exits_2_with_one_line() -> None:
    result = run_cli("run", "--frobnicate")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_demo_sized_run_lands_parquet_readable_everywhere(tmp_path: Path) -> None:
    spec = small_spec(
        tmp_path,
        space={
            "lr": "loguniform(1e-4, 1)",
            "optimizer": 'choice("sgd", "adam")',
            "momentum": {"sample": "reverse_loguniform(0.9, 0.999)", "when": {"optimizer": "sgd"}},
            "hidden_units": "integer(8, 16)",
            "batch_size": "choice(32, 64)",
            "epochs": 6,
        },
        search={"algorithm": "random", "num_samples": 8},
        scheduler={"name": "asha", "grace_period": 1, "reduction_factor": 2},
    )
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = run_cli("run", str(path), "--num-cpus", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = tmp_path / "results" / "small"
    trials = caviar.read_trials(str(sweep))
    curves = caviar.read_curves(str(sweep))
    assert len(trials) == 8 and set(trials["status"]) == {"TERMINATED"}
    assert trials["momentum"].isna().sum() == (trials["optimizer"] == "adam").sum()
    assert trials["stopped_early"].sum() > 0
    per_trial = curves.groupby("trial_id").size()
    assert per_trial.min() < per_trial.max() == 6
    assert not curves.duplicated(["trial_id", "iteration"]).any()
    assert len(pd.read_parquet(sweep / "trials.parquet")) == 8
    rows = duckdb.sql(f"select count(*) from read_parquet('{sweep}/curves/*.parquet')").fetchall()[
        0
    ]
    assert rows is not None and rows[0] == len(curves)
