"""The dashboard's web server (aiohttp): one page, its static files, a JSON API, steering.

aiohttp, because it comes with ``ray[default]`` (Ray's own dashboard runs on it): no new
dependency, a maintained server and client, and a small API that runs in a thread of its own
beside a sweep (``caviar run --dashboard``) as well as in the foreground.

Security: the server binds 127.0.0.1 unless told otherwise. Every start makes a random token
that is printed in the URL; bound to any address but a loopback one, every request must carry it
(``?token=``, the ``X-Caviar-Token`` header, or the cookie the page gets with the token), and
steering (POST) always must, in the header, so
that another site cannot post to it from a browser. ``read_only`` refuses steering. Nothing is
served from the disk but the sweeps found at start (by name) and a fixed list of the package's
own files; any other path, ``..`` included, is answered 404.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
import logging
import re
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from caviar.cluster.network import is_loopback
from caviar.dashboard.figures import figures
from caviar.dashboard.source import SweepSource
from caviar.results.control import request_add_trials, request_stop_sweep, request_stop_trial
from caviar.results.readers import sweep_dirs

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
TOKEN_HEADER = "X-Caviar-Token"
TOKEN_COOKIE = "caviar_token"
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
_STATIC = {
    "dashboard.js": "application/javascript",
    "dashboard.css": "text/css",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@functools.cache
def _plotly_js() -> tuple[bytes, bytes]:
    """plotly.js as the plotly package ships it (no CDN), and gzipped once."""
    from plotly.offline import get_plotlyjs

    body = get_plotlyjs().encode()
    return body, gzip.compress(body, compresslevel=6)


def _static(name: str) -> bytes:
    return (resources.files("caviar.dashboard") / "static" / name).read_bytes()


@dataclass
class Dashboard:
    """What the server serves: the sweeps under ``path``, and how it may be used."""

    path: str
    host: str = DEFAULT_HOST
    read_only: bool = False
    token: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    sources: dict[str, SweepSource] = field(default_factory=dict)
    _figures: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.discover()  # raises FileNotFoundError for a PATH that holds no sweep

    @property
    def open_reads(self) -> bool:
        """Reads without the token: only when nothing but this machine can connect."""
        return is_loopback(self.host)

    def discover(self) -> None:
        """Find the sweeps at ``path`` (again: a storage root gains sweeps while it is served)."""
        for uri in sweep_dirs(self.path):
            name = uri.rstrip("/").rsplit("/", 1)[-1]
            if name not in self.sources and _NAME.match(name):
                self.sources[name] = SweepSource(uri)

    def source(self, name: str) -> SweepSource:
        if not _NAME.match(name) or name not in self.sources:
            raise web.HTTPNotFound(text="no such sweep")
        return self.sources[name]

    def warm(self) -> None:
        """Read every sweep and build its figures now, before the first page asks."""
        for source in list(self.sources.values()):
            try:
                source.refresh(force=True)
                self.figures_of(source)
            except (OSError, ValueError) as error:
                logger.warning("dashboard: cannot read %s yet: %s", source.uri, error)

    def figures_of(self, source: SweepSource) -> tuple[int, dict[str, Any]]:
        """The sweep's figures, rebuilt when its trials table changed since the last build."""
        version = source.trials_version  # never goes back, also when the sweep is replaced
        cached = self._figures.get(source.name)
        if cached is None or cached[0] != version:
            cached = (version, figures(source))
            self._figures[source.name] = cached
        return cached

    # The application

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth], client_max_size=64 * 1024)
        app.router.add_get("/", self._index)
        app.router.add_get("/static/{name}", self._static_file)
        app.router.add_get("/api/sweeps", self._sweeps)
        app.router.add_get("/api/sweeps/{name}/update", self._update)
        app.router.add_post("/api/sweeps/{name}/stop_trial", self._stop_trial)
        app.router.add_post("/api/sweeps/{name}/stop", self._stop_sweep)
        app.router.add_post("/api/sweeps/{name}/add", self._add_trials)
        return app

    def _token_ok(self, request: web.Request, header_only: bool) -> bool:
        given = request.headers.get(TOKEN_HEADER, "")
        if not given and not header_only:
            given = request.query.get("token", "") or request.cookies.get(TOKEN_COOKIE, "")
        return bool(given) and secrets.compare_digest(given, self.token)

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if ".." in request.raw_path or "%2e%2e" in request.raw_path.lower():
            raise web.HTTPNotFound(text="not found")
        if request.method == "POST":
            if self.read_only:
                raise web.HTTPForbidden(text="this dashboard is read-only (--read-only)")
            if not self._token_ok(request, header_only=True):
                raise web.HTTPForbidden(text=f"steering needs the token in {TOKEN_HEADER}")
        elif not self.open_reads and not self._token_ok(request, header_only=False):
            raise web.HTTPForbidden(text="this dashboard needs the token printed in its URL")
        response = await handler(request)
        if request.path == "/" and not self.open_reads:
            # The page's own files and requests then carry the token as a cookie (this site only).
            response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="Strict")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        return response

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=_static("index.html"), content_type="text/html")

    async def _static_file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name == "plotly.min.js":
            plain, packed = await asyncio.to_thread(_plotly_js)
            if "gzip" in request.headers.get("Accept-Encoding", ""):
                response = web.Response(body=packed, content_type="application/javascript")
                response.headers["Content-Encoding"] = "gzip"
                return response
            return web.Response(body=plain, content_type="application/javascript")
        elif name in _STATIC:
            response = web.Response(body=_static(name), content_type=_STATIC[name])
        else:
            raise web.HTTPNotFound(text="not found")
        response.enable_compression()
        return response

    async def _sweeps(self, request: web.Request) -> web.StreamResponse:
        await asyncio.to_thread(self._rediscover)
        listing = [
            {"name": s.name, "key": key, "metric": s.metric, "mode": s.mode, "uri": s.uri}
            for key, s in sorted(self.sources.items())
        ]
        return web.json_response({"sweeps": listing, "read_only": self.read_only})

    def _rediscover(self) -> None:
        try:
            self.discover()
        except (FileNotFoundError, OSError) as error:
            logger.warning("dashboard: cannot list %s: %s", self.path, error)

    async def _update(self, request: web.Request) -> web.StreamResponse:
        source = self.source(request.match_info["name"])
        points = _int(request.query.get("points"), 0)
        rows = _int(request.query.get("rows"), 0)
        have_figures = _int(request.query.get("figures"), -1)
        generation = _int(request.query.get("generation"), 0)
        payload = await asyncio.to_thread(source.update, points, rows, generation)
        version, figs = await asyncio.to_thread(self.figures_of, source)
        payload["figures_version"] = version
        if version != have_figures:
            payload["figures"] = figs
        response = web.Response(
            text=json.dumps(payload, separators=(",", ":"), allow_nan=False),
            content_type="application/json",
        )
        response.enable_compression()
        return response

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="the body must be JSON") from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="the body must be a JSON object")
        return data

    async def _stop_trial(self, request: web.Request) -> web.StreamResponse:
        source = self.source(request.match_info["name"])
        trial_id = str((await self._body(request)).get("trial_id", ""))
        await asyncio.to_thread(source.refresh)
        if trial_id not in source.rows:
            raise web.HTTPBadRequest(text=f"trial_id: no trial {trial_id!r} in this sweep")
        done = await asyncio.to_thread(request_stop_trial, source.uri, trial_id, "dashboard")
        return web.json_response({"request": done.id})

    async def _stop_sweep(self, request: web.Request) -> web.StreamResponse:
        source = self.source(request.match_info["name"])
        done = await asyncio.to_thread(request_stop_sweep, source.uri, "dashboard")
        return web.json_response({"request": done.id})

    async def _add_trials(self, request: web.Request) -> web.StreamResponse:
        source = self.source(request.match_info["name"])
        n = (await self._body(request)).get("n")
        try:
            done = await asyncio.to_thread(request_add_trials, source.uri, n, "dashboard")  # type: ignore[arg-type]
        except ValueError as error:
            raise web.HTTPBadRequest(text=str(error)) from None
        return web.json_response({"request": done.id})

    def url(self, port: int) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::") else host
        return f"http://{shown}:{port}/?token={self.token}"


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        raise web.HTTPBadRequest(text="cursors must be integers") from None


class Server:
    """A running dashboard: its own event loop in a thread; ``stop`` ends it."""

    def __init__(self, dashboard: Dashboard, port: int = 0, bind: str | None = None) -> None:
        """Listen on ``port`` of ``bind`` (default: the dashboard's host, whose rules apply)."""
        self.dashboard = dashboard
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(dashboard.app(), access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, bind or dashboard.host, port)
        self._loop.run_until_complete(site.start())
        addresses = self._runner.addresses
        self.port = int(addresses[0][1]) if addresses else port
        self._thread: threading.Thread | None = None
        # The store is read while the person opens the URL (and the browser loads plotly.js).
        self._warming = threading.Thread(target=dashboard.warm, daemon=True, name="dashboard-warm")
        self._warming.start()

    @property
    def url(self) -> str:
        return self.dashboard.url(self.port)

    def warmed(self, timeout: float | None = None) -> bool:
        """Wait until the first read of the store is done; whether it is."""
        self._warming.join(timeout)
        return not self._warming.is_alive()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Server:
        """Serve in a background thread (beside a sweep)."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        try:
            self._loop.run_forever()
        finally:
            self._close()

    def stop(self) -> None:
        if self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._thread = None
            self._close()

    def _close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()


def serve(path: str, host: str = DEFAULT_HOST, port: int = 0, read_only: bool = False) -> Server:
    """A dashboard server for the sweep (or storage root) at ``path``, bound but not yet serving."""
    return Server(Dashboard(str(Path(path)) if "://" not in path else path, host, read_only), port)
