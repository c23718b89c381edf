"""Connecting to Ray: an embedded local Ray by default, or an existing cluster by address.

``address=None`` (and no RAY_ADDRESS in the environment) starts a Ray inside this process that stops
with it. ``"auto"`` joins the cluster that ``ray start --head`` started on this machine (Ray finds it
through its current-cluster file, ``$RAY_TMPDIR/ray/ray_current_cluster``); ``HOST:PORT`` joins the
GCS of a cluster directly and ``ray://HOST:10001`` goes through Ray Client.

Two things Ray does on its own are not what a person at a terminal wants, so they are handled here:

- An address where nothing answers makes ``ray.init`` retry for minutes. The GCS port is probed
  first (a socket, then that gRPC call), so an unreachable address fails in seconds with one line
  (exit 2).
- Ray 2.60's ``ray start --head`` turns token authentication on when ``~/.ray/auth_token`` exists
  (any earlier ``ray.init()`` writes one), but ``ray.init`` sends the token only for
  ``address="auto"``: with an explicit address or RAY_ADDRESS it is turned away with
  InvalidAuthToken. And a driver in token mode refuses calls from a cluster without authentication
  (``ray.cluster_utils.Cluster``, ``RAY_AUTH_MODE=disabled`` heads), so "always send it" is wrong
  too. One gRPC call without a token tells which the cluster is; the driver then matches it, unless
  RAY_AUTH_MODE is set, for as long as it is connected (the variable is restored afterwards).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from typing import Any

from caviar.cluster import compat, worker_path
from caviar.errors import SpecError, SweepFailed
from caviar.tune.environment import scoped_environ

PROBE_TIMEOUT_S = 3.0
AUTH_MODE = "RAY_AUTH_MODE"


def runtime_env() -> dict[str, object]:
    """Let workers import the user's modules from the current directory, appended to their path
    (never in front of the cluster's PYTHONPATH): see ``caviar.cluster.worker_path``."""
    return worker_path.runtime_env()


def requested_address(address: str | None) -> str | None:
    """The address asked for: the argument, else RAY_ADDRESS, else None (embedded Ray)."""
    return address or os.environ.get("RAY_ADDRESS") or None


def gcs_target(address: str) -> tuple[str, int]:
    """The (host, port) that ``ray.init(address)`` will talk to; SpecError if there is none.

    ``auto`` is resolved the way Ray resolves it (RAY_ADDRESS, then the current-cluster file of
    the last ``ray start``, then any GCS process running here).
    """
    if "://" in address:
        scheme, rest = address.split("://", 1)
        if scheme != "ray":
            raise SpecError("--address", f"use auto, HOST:PORT or ray://HOST:PORT, got {address!r}")
        return _split_host_port(address, rest.split("/", 1)[0])
    try:
        canonical = compat.bootstrap_address(address)
    except (ConnectionError, ValueError) as error:
        raise SpecError(
            "--address", f"cannot connect to Ray at {address!r}: {_first_line(error)}"
        ) from None
    if canonical is None:  # "local"
        raise SpecError("--address", "'local' is the embedded Ray: leave --address out instead")
    return _split_host_port(address, canonical)


def _split_host_port(address: str, host_port: str) -> tuple[str, int]:
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise SpecError("--address", f"expected HOST:PORT, got {address!r}")
    return host.strip("[]"), int(port)


def probe(address: str, host: str, port: int, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Fail in seconds, not minutes, when nothing listens at the cluster's address."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SpecError(
            "--address",
            f"cannot connect to Ray at {address!r}: nothing answers at {host}:{port} ({reason}); "
            "is the cluster up (`ray start --head`) and the port reachable?",
        ) from None


def gcs_asks_for_token(
    address: str, host: str, port: int, timeout: float = PROBE_TIMEOUT_S
) -> bool:
    """Ask the GCS for its cluster id (one gRPC call, no token): True if it wants a token.

    SpecError when it does not answer. Where Ray's gRPC stubs are missing, only the port is probed
    and False is returned (Ray's own defaults then apply).
    """
    probe(address, host, port, timeout)
    try:
        import grpc
        from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc
    except ImportError:
        return False
    with grpc.insecure_channel(f"{host}:{port}") as channel:
        stub = gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel)  # type: ignore[no-untyped-call]
        try:
            stub.GetClusterId(gcs_service_pb2.GetClusterIdRequest(), timeout=timeout)  # type: ignore[attr-defined]
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                return True
            raise SpecError(
                "--address",
                f"cannot connect to Ray at {address!r}: {host}:{port} does not answer as a Ray "
                f"GCS ({error.code().name})",
            ) from None
    return False


def match_auth_mode(address: str, token_wanted: bool) -> None:
    """Send the token exactly when the cluster asks for one (unless RAY_AUTH_MODE says otherwise).

    A driver in token mode also refuses the cluster's calls that carry no token, so a token must
    not be sent to a cluster without authentication either.
    """
    if AUTH_MODE in os.environ:
        return
    if not token_wanted:
        os.environ[AUTH_MODE] = "disabled"
        compat.reload_ray_config()
        return
    if not compat.has_auth_token():
        raise SpecError(
            "--address",
            f"the Ray cluster at {address!r} asks for an auth token and none is set here: put it "
            "in ~/.ray/auth_token, RAY_AUTH_TOKEN_PATH or RAY_AUTH_TOKEN (`ray get-auth-token` "
            "on the head prints it)",
        )
    os.environ[AUTH_MODE] = "token"
    compat.reload_ray_config()


@contextmanager
def connected(address: str | None = None, num_cpus: int | None = None) -> Iterator[str]:
    """Connect to Ray for the duration of the block; an embedded Ray is shut down after it.

    Yields a one-line description of the Ray in use, for the person watching.
    """
    import ray

    address = requested_address(address)
    if ray.is_initialized():
        yield "caviar: using the Ray this process is already connected to"
        return
    # The auth mode matched to this cluster holds while connected, not for the next connection.
    before = os.environ.get(AUTH_MODE)
    during: list[str | None] = []
    try:
        with scoped_environ(also=[AUTH_MODE]):
            try:
                yield from _connect(ray, address, num_cpus)
            finally:
                during.append(os.environ.get(AUTH_MODE))
    finally:
        if during and during[0] != before:
            compat.reload_ray_config()  # Ray's config reads the restored mode again


def _connect(ray: Any, address: str | None, num_cpus: int | None) -> Iterator[str]:
    """Match the auth mode, ``ray.init``, yield the description, shut an embedded Ray down."""
    if address is not None:
        host, port = gcs_target(address)
        if address.startswith("ray://"):
            probe(address, host, port)  # Ray Client: its server handles authentication
        else:
            match_auth_mode(address, gcs_asks_for_token(address, host, port))
    try:
        if address is None:
            # No runtime_env: the workers Ray prestarts while it starts then run the trials
            # (a job runtime_env makes Ray start new ones); caviar.tune.trainable appends the
            # driver's directory on the worker instead.
            context = ray.init(
                address="local",  # always a new embedded Ray, never a `ray start` one by accident
                num_cpus=num_cpus,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
            )
        else:
            context = ray.init(
                address=address,
                log_to_driver=False,
                logging_level=logging.ERROR,
                runtime_env=runtime_env(),
            )
    except Exception as error:
        if address is None:
            with suppress(Exception):  # whatever of it did start; the start's error is the news
                ray.shutdown()
            raise SweepFailed(embedded_start_failed(error)) from None
        if isinstance(error, (ConnectionError, RuntimeError, ValueError)):
            raise SpecError(
                "--address", f"cannot connect to Ray at {address!r}: {_first_line(error)}"
            ) from None
        raise
    try:
        yield describe(context, embedded=address is None)
    finally:
        ray.shutdown()
        sys.stdout.flush()


def embedded_start_failed(error: BaseException) -> str:
    """The line for an embedded Ray that did not start. Ray raises what it meets (a bare
    Exception when its raylet misses the 30 s start-up wait on a loaded machine, an OSError for a
    RAY_TMPDIR it cannot write), none of it the user's spec."""
    where = os.environ.get("RAY_TMPDIR") or "the system's temporary directory"
    return (
        f"the embedded Ray did not start ({type(error).__name__}: {_first_line(error)}); "
        f"check that {where} is a writable directory, and retry on a less loaded machine, or "
        "start Ray with `ray start --head` and pass --address auto"
    )


class RayStart:
    """``connected`` entered in a background thread, so that the driver's own start-up (importing
    Ray Tune, building the Tuner's parts) runs while Ray's processes start; see ``starting``.

    The thread lives until Ray is stopped: Ray starts its processes with PR_SET_PDEATHSIG, which
    kills a child when the *thread* that started it ends.
    """

    def __init__(self, address: str | None, num_cpus: int | None) -> None:
        self._stack = ExitStack()
        self._description: str | None = None
        self._error: BaseException | None = None
        self._up = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(address, num_cpus), name="caviar-ray-start", daemon=True
        )

    def _run(self, address: str | None, num_cpus: int | None) -> None:
        try:
            with _quiet_thread_warning():
                self._description = self._stack.enter_context(connected(address, num_cpus))
        except BaseException as error:  # handed to the main thread by wait()
            self._error = error
        finally:
            self._up.set()
        self._release.wait()  # until close(): Ray's processes die with this thread

    def start(self) -> None:
        if threading.current_thread() is threading.main_thread():
            _exit_on_sigterm()  # what ray.init does in the main thread, and cannot in this one
        self._thread.start()

    def wait(self) -> str:
        """Block until Ray is up; its one-line description. Raises what ``connected`` raised."""
        _wait_interruptibly(self._up)
        if self._error is not None:
            raise self._error
        assert self._description is not None
        return self._description

    def close(self, *exc_info: Any) -> None:
        """Wait for the start to end, then leave ``connected`` (an embedded Ray stops)."""
        self._up.wait()
        try:
            self._stack.__exit__(*(exc_info or (None, None, None)))
        finally:
            self._release.set()
            self._thread.join()


@contextmanager
def starting(address: str | None = None, num_cpus: int | None = None) -> Iterator[RayStart]:
    """``connected(address, num_cpus)``, started in the background: ``wait()`` gives its
    description once Ray is up. Whatever ends the block (an error, Ctrl-C) waits for the start
    to finish and then stops the embedded Ray, so none is left running."""
    start = RayStart(address, num_cpus)
    start.start()
    try:
        yield start
    except BaseException:
        start.close(*sys.exc_info())
        raise
    start.close()


def _wait_interruptibly(event: threading.Event) -> None:
    """``event.wait()`` in short steps: a Ctrl-C that the kernel hands to another thread (Ray's
    start-up thread, Ray's own) is raised in the main thread only when it runs Python again."""
    while not event.wait(0.1):
        pass


def _exit_on_sigterm() -> None:
    """SIGTERM exits through SystemExit (so the block above stops Ray), as ray.init arranges
    when called from the main thread; a handler someone else installed is kept."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(signum))


class _ThreadWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "not the main thread" not in record.getMessage()


@contextmanager
def _quiet_thread_warning() -> Iterator[None]:
    """ray.init warns that it set no SIGTERM handler off the main thread: ``start`` did."""
    logger = logging.getLogger("ray._private.worker")
    quiet = _ThreadWarning()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def describe(context: object, embedded: bool) -> str:
    """One line: which Ray, how many nodes and CPUs/GPUs."""
    import ray

    resources = ray.cluster_resources()  # type: ignore[no-untyped-call]
    cpus = int(resources.get("CPU", 0))
    gpus = resources.get("GPU", 0)
    gpu_text = f", {gpus:g} GPUs" if gpus else ""
    if embedded:
        return f"caviar: started an embedded Ray ({cpus} CPUs{gpu_text})"
    alive = [node for node in ray.nodes() if node.get("Alive")]  # type: ignore[no-untyped-call]
    nodes = len(alive)
    gcs = getattr(context, "address_info", {}).get("gcs_address") or getattr(
        context, "dashboard_url", "?"
    )
    return (
        f"caviar: connected to the Ray cluster at {gcs} "
        f"({nodes} node{'s' if nodes != 1 else ''}, {cpus} CPUs{gpu_text})"
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
