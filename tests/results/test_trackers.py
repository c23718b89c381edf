"""MLflow and TensorBoard: a sweep logged live, and exported afterwards, equals its Parquet tables.

Read back with the trackers' own readers: ``MlflowClient`` on a real sqlite tracking store, and
TensorBoard's ``EventAccumulator`` on the event files.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import caviar
from caviar.cli import main
from caviar.orchestrator.run import run_sweep
from caviar.orchestrator.spec import parse_spec

pytestmark = pytest.mark.xdist_group("ray")
PARAMS = ["x", "fail", "epochs", "seed"]
NOT_METRICS = {"trial_id", "iteration", "time_total_s", "timestamp"}


def tracked_spec(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "name": "tracked",
        "trainable": "tests.results.tracked:train",
        "metric": "loss",
        "mode": "min",
        "space": {"x": "uniform(0.1, 1)", "fail": "grid(0, 2)", "epochs": 4},
        "search": {"algorithm": "grid", "num_samples": 2},  # 4 trials, 2 of them crash
        "storage": str(tmp_path / "results"),
        **extra,
    }


def check_mlflow(uri: str, experiment: str, sweep: str) -> None:
    """One parent run, one child per trial; params, statuses, errors and every metric's history."""
    trials = caviar.read_trials(sweep)
    curves = caviar.read_curves(sweep, dtype_backend="pyarrow")
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None
    runs = client.search_runs([found.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("caviar.parent") == "true"]
    assert len(parents) == 1
    parent = parents[0]
    assert parent.info.status == "FINISHED" and parent.data.tags["caviar.sweep"] == "tracked"
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == len(trials) == len(runs) - 1 == 4
    by_trial = {r.data.tags["caviar.trial_id"]: r for r in children}
    assert set(by_trial) == set(trials["trial_id"])
    metrics = [c for c in curves.columns if c not in NOT_METRICS]
    assert set(metrics) == {"loss", "grad_norm", "val_extra"}
    for row in trials.to_dict("records"):
        run = by_trial[row["trial_id"]]
        assert run.data.params == {k: str(row[k]) for k in PARAMS}
        assert run.data.tags["caviar.sweep"] == "tracked"
        assert run.data.tags["caviar.status"] == row["status"]
        expected = {"TERMINATED": "FINISHED", "ERROR": "FAILED"}[row["status"]]
        assert run.info.status == expected
        if row["status"] == "ERROR":
            assert run.data.tags["caviar.error"] == row["error"]
            assert "boom at epoch 3" in row["error"]
        else:
            assert "caviar.error" not in run.data.tags
        rows = curves[curves["trial_id"] == row["trial_id"]]
        for metric in metrics:
            present = rows[rows[metric].notna()]
            history = sorted(
                client.get_metric_history(run.info.run_id, metric), key=lambda m: m.step
            )
            assert len(history) == len(present), (row["trial_id"], metric)
            assert [m.step for m in history] == present["iteration"].tolist()
            np.testing.assert_array_equal(
                [m.value for m in history], present[metric].astype(float).to_numpy()
            )


def check_tensorboard(logdir: Path, sweep: str) -> None:
    """Each trial's event files hold exactly its curves: every metric, step = iteration."""
    trials = caviar.read_trials(sweep)
    curves = caviar.read_curves(sweep, dtype_backend="pyarrow")
    assert sorted(p.name for p in logdir.iterdir()) == sorted(trials["trial_id"])
    metrics = [c for c in curves.columns if c not in NOT_METRICS]
    for trial_id in trials["trial_id"]:
        events = EventAccumulator(str(logdir / trial_id))
        events.Reload()
        rows = curves[curves["trial_id"] == trial_id]
        reported = [m for m in metrics if rows[m].notna().any()]
        assert sorted(events.Tags()["scalars"]) == sorted(reported)
        for metric in reported:
            present = rows[rows[metric].notna()]
            scalars = events.Scalars(metric)
            assert [s.step for s in scalars] == present["iteration"].tolist()
            # TensorBoard keeps scalars as float32.
            np.testing.assert_allclose(
                [s.value for s in scalars], present[metric].astype(float).to_numpy(), rtol=1e-6
            )


def test_live_trackers_and_exports_equal_the_parquet_tables(
    ray_local: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    spec = tracked_spec(
        tmp_path,
        loggers=["mlflow", "tensorboard"],
        mlflow={"tracking_uri": uri, "experiment": "caviar-tests"},
    )
    outcome = run_sweep(parse_spec(spec), False)
    assert outcome.trials == 4 and outcome.errors == 2
    curves = caviar.read_curves(outcome.sweep_uri)
    # 4 rows of the trials that finish, 1 or 2 of those that crash (as the context hands on the
    # report before a crash); every metric set irregular.
    assert len(curves) == caviar.read_trials(outcome.sweep_uri)["iterations"].sum() >= 10
    assert math.isnan(curves.loc[curves["iteration"] == 3, "grad_norm"].iloc[0])
    check_mlflow(uri, "caviar-tests", outcome.sweep_uri)
    check_tensorboard(Path(outcome.sweep_uri) / "tensorboard", outcome.sweep_uri)

    # The same sweep replayed from Parquet into a fresh store and logdir: the same runs.
    other = f"sqlite:///{tmp_path / 'exported.db'}"
    for args in (
        ["export", "mlflow", outcome.sweep_uri, "--tracking-uri", other, "--experiment", "x"],
        ["export", "tensorboard", outcome.sweep_uri, "--logdir", str(tmp_path / "tb")],
    ):
        try:
            main(args)
        except SystemExit as exit_:
            assert exit_.code in (0, None)
    assert "exported 4 trials" in capsys.readouterr().out
    check_mlflow(other, "x", outcome.sweep_uri)
    check_tensorboard(tmp_path / "tb", outcome.sweep_uri)


def test_a_resumed_live_sweep_continues_its_parent_and_child_runs(tmp_path: Path) -> None:
    """What `caviar resume` does to the live MLflow writer: a new callback (unpickled, as Tune
    restores it) finds the sweep's parent run and its children again instead of adding runs."""
    import pickle

    from caviar.results.trackers import sink_factories
    from caviar.tune.callbacks_trackers import TrackerCallback

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    options = {"mlflow": {"tracking_uri": uri, "experiment": "resumed"}}
    callback = TrackerCallback(sink_factories(["mlflow"], options, "s", str(tmp_path / "s")))
    callback.setup()
    first = callback._sinks[0]
    first.start_trial("t1", {"x": 0.5})
    first.log("t1", 1, {"loss": 2.0}, 0.0)
    first.close(interrupted=True)  # Ctrl-C

    again = pickle.loads(pickle.dumps(callback))  # as Tune restores its callbacks
    assert again._sinks == []  # no client travels in the pickle
    again.setup()
    sink = again._sinks[0]
    assert sink.parent_id == first.parent_id and sink.runs == first.runs  # type: ignore[attr-defined]
    sink.start_trial("t1", {"x": 0.5})
    sink.log("t1", 2, {"loss": 1.0}, 0.0)
    sink.end_trial("t1", "TERMINATED", None)
    sink.close(interrupted=False)
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("resumed")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 2  # one parent, one child
    child = next(r for r in runs if "caviar.trial_id" in r.data.tags)
    history = client.get_metric_history(child.info.run_id, "loss")
    assert sorted((m.step, m.value) for m in history) == [(1, 2.0), (2, 1.0)]
    assert child.info.status == "FINISHED"
    assert client.get_run(first.parent_id).info.status == "FINISHED"  # type: ignore[attr-defined]
