"""`caviar status/logs/stop/submit` send ~/.ray/auth_token only to a dashboard that asks for it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import run_cli

TOKEN = "caviar-test-token-0123456789abcdef0123456789abcdef"


class Recorder(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that records every request's headers; 401 if ``wants_token``."""

    def __init__(self, wants_token: bool) -> None:
        self.wants_token = wants_token
        self.headers_seen: list[str] = []
        super().__init__(("127.0.0.1", 0), Handler)


class Handler(BaseHTTPRequestHandler):
    server: Recorder

    def do_GET(self) -> None:
        self.server.headers_seen.append(str(self.headers))
        authorized = TOKEN in str(self.headers)
        self.send_response(401 if self.server.wants_token and not authorized else 404)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(params=[False, True], ids=["no-auth", "asks-for-token"])
def recorder(request: pytest.FixtureRequest) -> Iterator[Recorder]:
    server = Recorder(wants_token=request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("command", ["status", "logs", "stop"])
def test_the_token_goes_only_where_it_is_asked_for(
    recorder: Recorder, command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An earlier ray.init() in this process sets RAY_AUTH_MODE=token, which caviar (rightly)
    # obeys as the user's choice: the command must decide by itself here.
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    home = tmp_path / "home"
    (home / ".ray").mkdir(parents=True)
    (home / ".ray" / "auth_token").write_text(TOKEN)
    address = f"http://127.0.0.1:{recorder.server_address[1]}"
    done = run_cli(
        command, "raysubmit_x", "--address", address, env={"HOME": str(home)}, timeout=60
    )
    assert done.returncode != 0  # not a Ray dashboard either way
    assert recorder.headers_seen, "nothing was asked"
    sent = [h for h in recorder.headers_seen if TOKEN in h]
    if recorder.wants_token:
        assert sent, "a dashboard that asked for the token did not get it"
    else:
        assert not sent, "the token went to an address that did not ask for it"  # today: it did
    assert TOKEN not in done.stdout + done.stderr
