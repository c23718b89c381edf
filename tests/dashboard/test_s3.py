"""The dashboard of a sweep on S3 (a real S3-protocol server on localhost, moto's server mode)."""

from __future__ import annotations

import json

from caviar.dashboard.server import serve
from caviar.results.control import read_requests
from caviar.results.store import SweepStore
from tests.dashboard.test_server import fetch
from tests.results.synthetic import drive, make_callback, make_trials
from tests.results.test_s3 import s3_env

__all__ = ["s3_env"]  # the moto server fixture


def test_a_storage_root_on_s3_is_served_and_steered(s3_env: dict[str, str]) -> None:
    callback = make_callback("s3://bucket/dash/sweep", flush_rows=3, flush_seconds=1e9)
    callback.setup()
    trials = make_trials(2)
    for _ in drive(callback, trials, range(1, 4)):
        pass
    callback.flush()
    with serve("s3://bucket/dash") as server:
        status, body = fetch(server, "/api/sweeps")
        assert status == 200
        assert [s["uri"] for s in json.loads(body)["sweeps"]] == ["s3://bucket/dash/sweep"]
        status, body = fetch(server, "/api/sweeps/sweep/update?points=0")
        update = json.loads(body)
        assert {t: len(x) for t, (x, _) in update["curves"].items()} == {
            "t000000": 3,
            "t000001": 3,
        }
        token = server.dashboard.token
        status, _ = fetch(server, "/api/sweeps/sweep/add", "POST", {"n": 2}, token)
        assert status == 200
    requests = read_requests(SweepStore.at("s3://bucket/dash/sweep"))
    assert [(r.action, r.n) for r in requests] == [("add_trials", 2)]
