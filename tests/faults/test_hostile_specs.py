"""Hostile specs beyond the bad-input table: bounded cost, no side effects, no echoed secrets,
and odd but legitimate trainables (irregular metric sets, metric names like caviar's columns)."""

from __future__ import annotations

import math
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml

import caviar
from caviar.cli import main
from tests.conftest import small_spec
from tests.faults.summary import record_bad_input
from tests.faults.test_bad_input import BOMB, SECRET

pytestmark = pytest.mark.faults


def run_main(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def test_an_alias_bomb_is_refused_in_milliseconds_with_a_short_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "spec.yaml").write_text(BOMB)
    run_main(["run", str(tmp_path / "nope.yaml")])  # imports everything first: not counted
    capsys.readouterr()
    tracemalloc.start()
    started = time.perf_counter()
    code = run_main(["run", str(tmp_path / "spec.yaml")])
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    err = capsys.readouterr().err
    assert code == 2 and "aliases expand" in err
    assert len(err) < 1000, len(err)
    assert peak < 50e6, peak  # today: 2.7 GB
    assert seconds < 10, seconds  # today: 21 s (a generous bound: the machine is shared)


def test_a_long_value_is_shortened_in_the_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = small_spec(tmp_path, name="x" * 200_000 + " y")
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    assert run_main(["run", str(tmp_path / "spec.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("caviar: error: name: use letters") and len(err) < 1000, len(err)


def test_checking_a_trainable_does_not_run_its_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``this`` prints the Zen of Python when imported: the check finds it without importing."""
    sys.modules.pop("this", None)
    spec = small_spec(tmp_path, trainable="this:x")
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    assert run_main(["run", str(tmp_path / "spec.yaml")]) == 2
    out, err = capsys.readouterr()
    assert "has no attribute 'x'" in err
    assert "Beautiful is better" not in out + err
    assert "this" not in sys.modules


@pytest.mark.parametrize(
    "args",
    [
        ["run", "{spec}", "--storage", f"s3://AKIAEXAMPLE:{SECRET}@bucket/x"],
        ["resume", f"s3://AKIAEXAMPLE:{SECRET}@bucket/x/small"],
        ["show", f"s3://bucket/x/small?access_key=AKIAEXAMPLE&secret_key={SECRET}"],
        [
            "submit",
            "{spec}",
            "--address",
            "http://127.0.0.1:9",
            "--set",
            f"storage=s3://a:{SECRET}@b",
        ],
    ],
    ids=["run", "resume", "show", "submit"],
)
def test_credentials_in_a_storage_uri_are_refused_and_never_echoed(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(small_spec(tmp_path)))
    code = run_main([a.replace("{spec}", str(spec)) for a in args])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert "holds credentials" in err and "credential chain" in err
    assert SECRET not in out + err and SECRET.split("/")[0] not in out + err
    assert not (tmp_path / "results").exists()


def _user_spec(tmp_path: Path, trainable: str, metric: str, **extra: Any) -> Path:
    spec = {
        "name": "odd",
        "trainable": trainable,
        "metric": metric,
        "space": {"x": "uniform(0, 1)", "epochs": 3},
        "search": {"num_samples": 2},
        "storage": str(tmp_path / "results"),
        **extra,
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.xdist_group("ray")
def test_a_trainable_that_returns_without_reporting_exits_1(
    ray_local: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    """The README promises exit 1 for a trainable that never reports the metric; today: exit 0."""
    code = run_main(["run", str(_user_spec(tmp_path, "builtins:print", "score"))])
    err = "\n".join(line for line in capsys.readouterr().err.splitlines() if "trials" not in line)
    record_bad_input(
        request.node,
        "trainable returns without reporting (builtins:print)",
        code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err,
    )
    assert code == 1, err
    assert err.startswith("caviar: error: metric: the trainable returned without reporting"), err


@pytest.mark.xdist_group("ray")
def test_a_metric_missing_from_some_reports_is_normal(
    ray_local: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Validation every 2nd epoch: the sweep runs, every report is a row, best comes from epoch 2.

    ASHA may stop the worse trial at its first rung (epoch 2, where val_loss first appears), so a
    trial holds 2 or 3 rows, as many as its ``iterations``."""
    path = _user_spec(
        tmp_path,
        "tests.faults.odd_trainables:every_second_epoch",
        "val_loss",
        scheduler={"name": "asha", "max_t": 3, "grace_period": 1},
    )
    code = run_main(["run", str(path)])
    assert code == 0, capsys.readouterr().err
    trials = caviar.read_trials(str(tmp_path / "results" / "odd"))
    curves = caviar.read_curves(str(tmp_path / "results" / "odd"))
    assert (trials["status"] == "TERMINATED").all()
    rows_per_trial = curves.groupby("trial_id").size()
    for row in trials.itertuples():
        assert rows_per_trial[row.trial_id] == row.iterations
        assert row.iterations in (2, 3)
        assert row.best_val_loss == pytest.approx(row.x + 0.5)
    assert trials["iterations"].max() == 3


@pytest.mark.xdist_group("ray")
def test_metrics_named_like_caviar_columns_or_parameters_are_kept_under_a_prefix(
    ray_local: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``iteration``, ``status``, ``trial_id``, ``time_total_s`` and the parameter ``x`` as metrics:
    stored as ``metric_<name>``; caviar's columns and the parameter keep their values."""
    path = _user_spec(tmp_path, "tests.faults.odd_trainables:reserved_names", "score", mode="max")
    code = run_main(["run", str(path)])
    assert code == 0, capsys.readouterr().err  # today: 130, the status column says 'mine'
    trials = caviar.read_trials(str(tmp_path / "results" / "odd"))
    curves = caviar.read_curves(str(tmp_path / "results" / "odd"))
    assert (trials["status"] == "TERMINATED").all()
    assert (trials["metric_status"] == "mine").all() and (trials["metric_x"] == -1.0).all()
    assert trials["x"].between(0, 1).all()
    assert not trials["trial_id"].eq("not-a-trial").any()
    assert sorted(curves["iteration"]) == [1, 1, 2, 2, 3, 3]  # today: one row per trial
    assert sorted(curves["metric_iteration"]) == [101, 101, 102, 102, 103, 103]
    assert (curves["time_total_s"] >= 0).all()  # Ray Tune's own keys are Ray's: it sets them


@pytest.mark.xdist_group("ray")
def test_the_mlp_keeps_the_sampled_lr_and_reports_the_scheduled_one_as_lr_now(
    ray_local: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = small_spec(tmp_path)
    spec["space"].update(lr_schedule="cosine", epochs=4)
    spec["search"]["num_samples"] = 2
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    assert run_main(["run", str(tmp_path / "spec.yaml")]) == 0, capsys.readouterr().err
    trials = caviar.read_trials(str(tmp_path / "results" / "small")).set_index("trial_id")
    curves = caviar.read_curves(str(tmp_path / "results" / "small")).sort_values("iteration")
    for trial_id, curve in curves.groupby("trial_id"):
        sampled = trials.loc[trial_id, "lr"]
        assert 1e-3 <= sampled <= 1e-1
        assert curve["lr_now"].iloc[0] == pytest.approx(sampled)  # cosine starts at the base lr
        assert curve["lr_now"].iloc[-1] < 0.5 * sampled  # and ends well below it
        assert not math.isclose(trials.loc[trial_id, "lr"], curve["lr_now"].iloc[-1])
