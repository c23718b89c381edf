"""A head plus one more node (ray.cluster_utils.Cluster) on localhost: trials run on both nodes and
trials.parquet says which; a worker node killed mid-sweep loses nothing (trials resume elsewhere
from their checkpoints, each (trial_id, iteration) exactly once in the curves)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import small_spec

pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("ray-cluster")]


@pytest.fixture
def two_nodes(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A head (1 CPU) and a worker node (1 CPU) on this machine; only they are stopped afterwards."""
    from ray.cluster_utils import Cluster

    # Cluster writes Ray's current-cluster file: keep it out of the machine-wide /tmp/ray.
    tmpdir = tempfile.mkdtemp(prefix="cvr")
    monkeypatch.setenv("RAY_TMPDIR", tmpdir)
    monkeypatch.setenv("RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S", "0")
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
    )
    worker = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    try:
        yield cluster, worker
    finally:
        cluster.shutdown()
        shutil.rmtree(tmpdir, ignore_errors=True)


def _caviar(spec: dict[str, object], tmp_path: Path, address: str) -> subprocess.Popen[str]:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return subprocess.Popen(
        [sys.executable, "-m", "caviar.cli", "run", str(path), "--address", address],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_trials_run_on_both_nodes(tmp_path: Path, two_nodes: tuple[object, object]) -> None:
    cluster, worker = two_nodes
    spec = small_spec(tmp_path, search={"algorithm": "random", "num_samples": 4})
    process = _caviar(spec, tmp_path, cluster.address)  # type: ignore[attr-defined]
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[:4000]
    assert "(2 nodes, 2 CPUs)" in stdout
    assert "is a local path and the cluster has 2 nodes" in stderr  # shared-storage warning
    trials = pd.read_parquet(tmp_path / "results" / "small" / "trials.parquet")
    assert (trials["status"] == "TERMINATED").all()
    head_id = cluster.head_node.node_id  # type: ignore[attr-defined]
    assert set(trials["node_id"]) == {head_id, worker.node_id}  # type: ignore[attr-defined]


@pytest.mark.slow  # ~1-2 min: a sweep, a node lost, trials moved and resumed
@pytest.mark.faults
def test_losing_a_worker_node_mid_sweep_loses_nothing(
    tmp_path: Path, two_nodes: tuple[object, object]
) -> None:
    cluster, worker = two_nodes
    worker_id = worker.node_id  # type: ignore[attr-defined]
    markers = tmp_path / "markers"
    epochs = 8
    spec = small_spec(
        tmp_path,
        trainable="tests.cluster.steady:train",
        search={"algorithm": "random", "num_samples": 3},
        max_failures=3,
    )
    spec["space"] = {
        "lr": "loguniform(1e-3, 1e-1)",
        "epochs": epochs,
        "seconds": 1.0,
        "marker_dir": str(markers),
    }
    process = _caviar(spec, tmp_path, cluster.address)  # type: ignore[attr-defined]
    deadline = time.monotonic() + 180
    on_worker: list[Path] = []
    while time.monotonic() < deadline and not on_worker:
        # Kill the node once a trial there has checkpointed 2 iterations.
        on_worker = [m for m in markers.glob(f"*.*.{worker_id}") if int(m.name.split(".")[1]) >= 2]
        time.sleep(0.3)
    assert on_worker, "no trial ran on the worker node"
    lost_trial = on_worker[0].name.split(".")[0]
    cluster.remove_node(worker, allow_graceful=False)  # type: ignore[attr-defined]
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[:4000]

    trials = pd.read_parquet(tmp_path / "results" / "small" / "trials.parquet")
    assert len(trials) == 3 and (trials["status"] == "TERMINATED").all()
    assert (trials["iterations"] == epochs).all()
    curves = pd.read_parquet(tmp_path / "results" / "small" / "curves")
    counts = curves.groupby(["trial_id", "iteration"]).size()
    assert (counts == 1).all(), counts[counts != 1]
    for _, group in curves.groupby("trial_id"):
        assert sorted(group["iteration"]) == list(range(1, epochs + 1))
    # The lost trial went on on the head, from its checkpoint: its first iteration there is not 1.
    head_id = cluster.head_node.node_id  # type: ignore[attr-defined]
    moved = sorted(int(m.name.split(".")[1]) for m in markers.glob(f"{lost_trial}.*.{head_id}"))
    assert moved and moved[0] > 1, moved
    assert trials.set_index("trial_id").loc[lost_trial, "node_id"] == head_id
