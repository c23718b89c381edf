"""The dashboard's server over real HTTP on 127.0.0.1: updates, tokens, paths, read-only."""

from __future__ import annotations

import http.client
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from caviar.dashboard.server import TOKEN_HEADER, Dashboard, Server, is_loopback, serve
from caviar.results.control import read_requests
from caviar.results.store import SweepStore
from tests.dashboard.test_page import append_rows
from tests.results.report_data import write_sweep


def fetch(
    server: Server, path: str, method: str = "GET", body: Any = None, token: str | None = None
) -> tuple[int, bytes]:
    """One raw request to the server on 127.0.0.1 (the path is sent exactly as given)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers[TOKEN_HEADER] = token
    data = None if body is None else json.dumps(body)
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def update(
    server: Server, points: int, rows: int, figures: int = -1, generation: int = 1
) -> dict[str, Any]:
    query = f"points={points}&rows={rows}&figures={figures}&generation={generation}"
    status, body = fetch(server, f"/api/sweeps/synthetic/update?{query}")
    assert status == 200, body
    return json.loads(body)  # type: ignore[no-any-return]


@pytest.fixture
def sweep(tmp_path: Path) -> str:
    return write_sweep(tmp_path / "results", trials=20, iterations=12, running=1)


def test_updates_carry_only_what_is_new(sweep: str) -> None:
    with serve(sweep) as server:
        status, page = fetch(server, "/")
        assert status == 200 and b"static/plotly.min.js" in page
        assert b"cdn" not in page.lower() and b"https://" not in page
        status, script = fetch(server, "/static/plotly.min.js")
        assert status == 200 and b"plotly.js" in script[:400]
        first = update(server, 0, 0)
        assert first["kind"] == "snapshot" and len(first["curves"]) == 20
        assert len(first["trials"]) == 21 and "curves" in first["figures"]
        curves = first["figures"]["curves"]["data"]
        members = [
            t for tr in curves if "trials" in (tr.get("meta") or {}) for t in tr["meta"]["trials"]
        ]
        assert set(members) >= {f"t{i:05d}" for i in range(20)}  # every curve has its band
        # Nothing new: nothing sent (and the figures not again).
        same = update(server, first["points"], first["rows"], first["figures_version"])
        assert same["kind"] == "delta" and same["curves"] == {} and same["trials"] == []
        assert "figures" not in same
        # A flushed part: exactly its rows, nothing else.
        append_rows(sweep, "t00020", range(1, 4))  # (the store is re-listed every 0.4 s at most)
        delta = _wait_for_points(server, first["points"])
        assert delta["curves"] == {"t00020": [[1, 2, 3], [2.0, 1.5, pytest.approx(1.33333)]]}
        assert delta["points"] == first["points"] + 3
        # A compaction merges the parts: the rows it repeats are not sent again.
        SweepStore.at(sweep).compact()
        again = _wait_for_points(server, delta["points"], expect_new=False)
        assert again["curves"] == {} and again["points"] == delta["points"]
        # The directory replaced by another sweep of the same name: a page gets it afresh.
        shutil.rmtree(sweep)
        write_sweep(Path(sweep).parent, trials=5, iterations=3, seed=7)
        fresh = _wait_for_points(server, 0, generation=1, kind="snapshot")
        assert fresh["generation"] == 2 and len(fresh["curves"]) == 5
        assert len(fresh["trials"]) == 5


def _wait_for_points(
    server: Server, have: int, expect_new: bool = True, generation: int = 1, kind: str = ""
) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        got = update(server, have, 10**9, 10**9, generation)
        if kind and got["kind"] == kind and got["generation"] != generation:
            return got
        if not kind and (got["points"] > have) == expect_new:
            return got
        if time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def test_off_loopback_every_request_needs_the_token(sweep: str) -> None:
    # The rules of a dashboard bound to every address, on a socket that listens on 127.0.0.1 only.
    dashboard = Dashboard(sweep, host="0.0.0.0")
    with Server(dashboard, 0, bind="127.0.0.1") as server:
        for path in ("/", "/static/dashboard.js", "/api/sweeps", "/api/sweeps/synthetic/update"):
            status, body = fetch(server, path)
            assert status == 403, (path, body)
            status, _ = fetch(server, f"{path}?token=wrong")
            assert status == 403
        status, _ = fetch(server, f"/api/sweeps?token={dashboard.token}")
        assert status == 200
        status, _ = fetch(server, "/api/sweeps", token=dashboard.token)
        assert status == 200
        assert f"token={dashboard.token}" in server.url
        # The page opened with the token gets it as a cookie, for its scripts and styles.
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.request("GET", f"/?token={dashboard.token}")
        response = connection.getresponse()
        response.read()
        cookie = response.getheader("Set-Cookie") or ""
        assert cookie.startswith(f"caviar_token={dashboard.token}") and "HttpOnly" in cookie
        connection.request("GET", "/static/dashboard.js", headers={"Cookie": cookie.split(";")[0]})
        assert connection.getresponse().status == 200
        # A cookie is never enough for steering.
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.request(
            "POST",
            "/api/sweeps/synthetic/stop",
            body="{}",
            headers={"Cookie": cookie.split(";")[0]},
        )
        assert connection.getresponse().status == 403


def test_loopback_reads_are_open_but_steering_needs_the_token(sweep: str) -> None:
    with serve(sweep) as server:
        token = server.dashboard.token
        assert fetch(server, "/api/sweeps")[0] == 200
        path = "/api/sweeps/synthetic/stop_trial"
        assert fetch(server, path, "POST", {"trial_id": "t00020"})[0] == 403
        # The token in the query string is not enough for steering: it must be the header.
        assert fetch(server, f"{path}?token={token}", "POST", {"trial_id": "t00020"})[0] == 403
        assert fetch(server, path, "POST", {"trial_id": "nope"}, token)[0] == 400
        assert fetch(server, path, "POST", {"trial_id": "t00020"}, token)[0] == 200
        assert fetch(server, "/api/sweeps/synthetic/add", "POST", {"n": 0}, token)[0] == 400
        assert fetch(server, "/api/sweeps/synthetic/add", "POST", {"n": 4}, token)[0] == 200
        assert fetch(server, "/api/sweeps/synthetic/stop", "POST", {}, token)[0] == 200
        actions = [r.action for r in read_requests(SweepStore.at(sweep))]
        assert actions == ["stop_trial", "add_trials", "stop_sweep"]


def test_read_only_refuses_steering(sweep: str) -> None:
    with serve(sweep, read_only=True) as server:
        token = server.dashboard.token
        status, body = fetch(server, "/api/sweeps/synthetic/stop", "POST", {}, token)
        assert status == 403 and b"read-only" in body
        assert json.loads(fetch(server, "/api/sweeps")[1])["read_only"] is True
    assert read_requests(SweepStore.at(sweep)) == []


@pytest.mark.parametrize(
    "path",
    [
        "/static/../sweep.yaml",
        "/static/..%2Fsweep.yaml",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/../../etc/passwd",
        "/api/sweeps/..%2F..%2Fsynthetic/update",
        "/api/sweeps/../synthetic/update",
        "/api/sweeps/nope/update",
        "/static/index.html",
        "/sweep.yaml",
        "/trials.parquet",
    ],
)
def test_nothing_outside_the_page_is_served(sweep: str, path: str) -> None:
    with serve(sweep) as server:
        status, body = fetch(server, path)
    assert status == 404, (path, status)
    assert b"trainable" not in body and b"root:" not in body


def test_the_loopback_rule() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("")
