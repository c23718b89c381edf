"""Storage on S3, against a real S3-protocol server on localhost (moto's server mode).

The endpoint comes from the standard AWS_ENDPOINT_URL environment variable, as it would for MinIO
or any other S3-compatible store.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import yaml
from moto.server import ThreadedMotoServer

import caviar
from caviar.errors import SpecError
from caviar.results.store import SweepStore
from caviar.spec.parse import parse_spec
from caviar.tune.run import prepare
from tests.results.synthetic import drive, make_callback, make_trials


@pytest.fixture(scope="module")
def s3_env() -> Iterator[dict[str, str]]:
    """A moto S3 server with a bucket named 'bucket'; yields the environment that reaches it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"]).create_bucket(Bucket="bucket")
    try:
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


def keys(prefix: str) -> list[str]:
    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    pages = client.get_paginator("list_objects_v2").paginate(Bucket="bucket", Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def test_store_writes_compacts_and_reads_on_s3(s3_env: dict[str, str]) -> None:
    callback = make_callback("s3://bucket/unit/sweep", flush_rows=3, flush_seconds=1e9)
    callback.setup()
    trials = make_trials(3)
    list(drive(callback, trials, range(1, 5)))
    callback.flush()
    store = SweepStore.at("s3://bucket/unit/sweep")
    assert len(store.curve_parts()) == 4
    assert caviar.read_curves("s3://bucket/unit/sweep")["iteration"].tolist()[:4] == [1, 2, 3, 4]
    assert store.compact().merged == 4
    assert [k for k in keys("unit/sweep/curves/") if k.endswith(".parquet")] == [
        store.curve_parts()[0][1].split("/", 1)[1]
    ]
    assert not [k for k in keys("unit/") if ".tmp" in k]
    assert len(caviar.read_curves("s3://bucket/unit")) == 12  # a storage root, one sweep


def test_a_missing_bucket_is_refused_before_ray_starts(s3_env: dict[str, str]) -> None:
    spec = parse_spec(
        {
            "name": "x",
            "trainable": "tests.results.killable:train",
            "metric": "score",
            "space": {"x": "uniform(0, 1)", "epochs": 1},
            "storage": "s3://no-such-bucket/prefix",
        }
    )
    with pytest.raises(SpecError, match="bucket 'no-such-bucket' does not exist"):
        prepare(spec)


def test_a_real_sweep_on_s3_end_to_end(s3_env: dict[str, str], tmp_path: Path) -> None:
    spec = {
        "name": "ons3",
        "trainable": "tests.results.killable:train",
        "metric": "score",
        "mode": "max",
        "space": {"x": "uniform(0, 1)", "epochs": 3, "sleep": 0.0},
        "search": {"algorithm": "random", "num_samples": 2},
        "storage": "s3://bucket/sweeps",
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    env = {**os.environ, **s3_env}
    result = subprocess.run(
        [sys.executable, "-m", "caviar.cli", "run", str(tmp_path / "spec.yaml"), "--num-cpus", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    stored = keys("sweeps/ons3/")
    assert "sweeps/ons3/sweep.yaml" in stored and "sweeps/ons3/trials.parquet" in stored
    assert sum(k.endswith("state.pt") for k in stored) >= 2  # Ray's checkpoint uploads
    assert sum(k.startswith("sweeps/ons3/curves/part-") for k in stored) == 1
    trials = caviar.read_trials("s3://bucket/sweeps/ons3")
    curves = caviar.read_curves("s3://bucket/sweeps/ons3")
    assert len(trials) == 2 and set(trials["status"]) == {"TERMINATED"}
    assert len(curves) == 6 and not curves.duplicated(["trial_id", "iteration"]).any()

    listed = subprocess.run(
        [sys.executable, "-m", "caviar.cli", "ls", "s3://bucket/sweeps"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert "ons3" in listed.stdout and "2 terminated" in listed.stdout
