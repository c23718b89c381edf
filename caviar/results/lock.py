"""One driver per sweep: an exclusive lock with a lease, at ``<sweep>/driver.lock``.

Two drivers writing one sweep (a ``caviar resume`` while its ``caviar run`` still runs) would each
rewrite trials.parquet with only their own trials and each compaction would delete the other's
rows. So ``run``, ``resume`` and ``compact`` (and any command that writes a sweep:
``with sweep_lock(store, "extend"):``) hold this lock; a second holder gets ``SweepLocked``, a
SpecError: one line, exit 2.

- Local (and shared POSIX) directories: the file is locked with ``flock``, which the kernel
  releases when the holder dies, however it dies (kill -9 included): a dead holder's lock is
  taken over at once, a live holder's never.
- S3: the lock object is created with a conditional put (``If-None-Match: *``), renewed by a
  background thread every third of its lease with ``If-Match`` on its ETag; a lease that ran out
  (the holder died or lost the store) is taken over with ``If-Match`` on the expired lease's
  ETag, so of two drivers taking over, one wins. Needs boto3 (the ``s3`` extra).

The lock's content (JSON: command, host, pid, since, lease end) is what the refusal quotes.
A lock is re-entrant within one process: the CLI takes it before Ray starts, ``run_sweep`` again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from caviar.errors import SpecError

if TYPE_CHECKING:
    from caviar.results.store import SweepStore

log = logging.getLogger(__name__)

LOCK_FILE = "driver.lock"
LEASE_S = 60.0

_held: dict[str, _Holder] = {}
_held_guard = threading.Lock()


class SweepLocked(SpecError):
    """Another live driver holds the sweep: refused in one line (exit 2)."""


@dataclass
class _Holder:
    release: Any
    count: int = 1


@contextlib.contextmanager
def sweep_lock(store: SweepStore, command: str, lease_s: float = LEASE_S) -> Iterator[None]:
    """Hold the sweep's driver lock while the block runs; SweepLocked if a live driver has it."""
    key = store.path(LOCK_FILE)
    with _held_guard:
        holder = _held.get(key)
        if holder is not None:
            holder.count += 1
    if holder is None:
        release = _acquire(store, command, lease_s)
        holder = _Holder(release)
        with _held_guard:
            _held[key] = holder
    try:
        yield
    finally:
        with _held_guard:
            holder.count -= 1
            last = holder.count == 0
            if last:
                del _held[key]
        if last:
            holder.release()


def _acquire(store: SweepStore, command: str, lease_s: float) -> Any:
    content = {
        "command": command,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "owner": uuid.uuid4().hex,
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if store.is_local:
        try:
            return _acquire_local(store, content)
        except SweepLocked:
            raise
        except OSError as error:  # read-only, no permission: one line, not a traceback
            raise SpecError("SWEEP_DIR", f"cannot lock {store.path(LOCK_FILE)}: {error}") from None
    if type(store.filesystem).__name__ == "S3FileSystem":
        return _acquire_s3(store, content, lease_s)
    log.warning("no driver lock on %s storage: keep to one driver per sweep", store.filesystem)
    return lambda: None


def _refusal(store: SweepStore, holder: dict[str, Any]) -> SweepLocked:
    who = f"`caviar {holder.get('command', '?')}`"
    where = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
    since = holder.get("since", "?")
    return SweepLocked(
        "SWEEP_DIR",
        f"{store.root} is in use by {who} ({where}, since {since}); wait for it to end or stop "
        f"it (a driver that died frees it: its lock is taken over)",
    )


# Local: flock on the lock file


def _acquire_local(store: SweepStore, content: dict[str, Any]) -> Any:
    import fcntl

    path = store.path(LOCK_FILE)
    made = _missing_dirs(store.root)  # removed again at release if still empty
    os.makedirs(store.root, exist_ok=True)
    for _ in range(10):
        # Held read-only: flock needs no write access, and a file open for writing would keep
        # its filesystem from being remounted read-only under a running sweep.
        descriptor = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_json(lambda fd=descriptor: os.pread(fd, 65536, 0))
            os.close(descriptor)
            raise _refusal(store, holder) from None
        try:
            same = os.path.samestat(os.fstat(descriptor), os.stat(path))
        except FileNotFoundError:
            same = False
        if not same:  # its holder removed it as we opened it: try the new one
            os.close(descriptor)
            continue
        writer = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(writer, json.dumps(content).encode())
            os.fsync(writer)
        finally:
            os.close(writer)
        return lambda: _release_local(path, descriptor, made)
    raise _refusal(store, {"command": "?", "host": "?", "pid": "?"})


def _release_local(path: str, descriptor: int, made: list[str]) -> None:
    with contextlib.suppress(OSError):  # gone, or its filesystem went read-only meanwhile
        os.unlink(path)  # while still locked: a waiting taker sees the inode change and retries
    os.close(descriptor)
    for directory in made:  # a run refused after the lock leaves no empty sweep directory
        try:
            os.rmdir(directory)
        except OSError:
            break


def _missing_dirs(path: str) -> list[str]:
    """The directories that creating ``path`` would make, deepest first."""
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return missing


def _read_json(read: Any) -> dict[str, Any]:
    try:
        value = json.loads(bytes(read()).decode() or "{}")
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


# S3: conditional writes


def _acquire_s3(store: SweepStore, content: dict[str, Any], lease_s: float) -> Any:
    try:
        client = s3_client()
    except ImportError:
        log.warning("boto3 is not installed: the sweep at %s is not locked", store.root)
        return lambda: None
    bucket, _, prefix = store.root.partition("/")
    key = f"{prefix}/{LOCK_FILE}" if prefix else LOCK_FILE
    lease = _S3Lease(client, bucket, key, content, lease_s)
    lease.take(store)
    return lease.release


def s3_client() -> Any:
    """A boto3 S3 client for the same endpoint and region the store's pyarrow filesystem uses."""
    import boto3

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return boto3.client("s3", endpoint_url=endpoint or None, region_name=region or None)


class _S3Lease:
    """A lease object on S3, kept alive by a daemon thread until released."""

    def __init__(
        self, client: Any, bucket: str, key: str, content: dict[str, Any], lease_s: float
    ) -> None:
        self.client, self.bucket, self.key = client, bucket, key
        self.content, self.lease_s = content, lease_s
        self.etag: str | None = None
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def body(self) -> bytes:
        return json.dumps({**self.content, "expires": time.time() + self.lease_s}).encode()

    def take(self, store: SweepStore) -> None:
        from botocore.exceptions import ClientError

        for _ in range(5):
            try:
                self.etag = self._put(IfNoneMatch="*")
                break
            except ClientError as error:
                if not _conflict(error):
                    raise
            try:
                current = self.client.get_object(Bucket=self.bucket, Key=self.key)
            except ClientError as error:
                if _missing(error):
                    continue  # released meanwhile: create it again
                raise
            holder = _read_json(current["Body"].read)
            if float(holder.get("expires", 0)) > time.time():
                raise _refusal(store, holder)
            try:  # expired: take it over, unless another driver did first
                self.etag = self._put(IfMatch=current["ETag"])
                log.warning("took over the expired lock of %s", store.root)
                break
            except ClientError as error:
                if not (_conflict(error) or _missing(error)):
                    raise
        else:
            raise _refusal(store, {})
        self.thread = threading.Thread(target=self._renew, name="caviar-lease", daemon=True)
        self.thread.start()

    def _put(self, **condition: str) -> str:
        reply = self.client.put_object(
            Bucket=self.bucket, Key=self.key, Body=self.body(), **condition
        )
        return str(reply["ETag"])

    def _renew(self) -> None:
        from botocore.exceptions import ClientError

        while not self.stop.wait(self.lease_s / 3):
            try:
                self.etag = self._put(IfMatch=self.etag or "")
            except ClientError as error:
                log.error("lost the lock of s3://%s/%s: %s", self.bucket, self.key, error)
                return
            except Exception as error:  # a network error: try again next time, the lease lasts
                log.warning("could not renew the lock of s3://%s: %s", self.bucket, error)

    def release(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        from botocore.exceptions import ClientError

        try:  # only our own lease: a lock taken over after we lost it stays
            self.client.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=self.etag or "")
        except ClientError as error:
            if not (_missing(error) or _conflict(error)):
                log.warning("could not release the lock s3://%s/%s", self.bucket, self.key)


def _code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _conflict(error: Any) -> bool:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return _code(error) in ("PreconditionFailed", "ConditionalRequestConflict") or status in (
        409,
        412,
    )


def _missing(error: Any) -> bool:
    return _code(error) in ("NoSuchKey", "404", "NotFound")
