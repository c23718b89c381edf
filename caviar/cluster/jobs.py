"""Running a sweep on a remote cluster as a Ray job (Ray's Jobs API, through the head's dashboard).

``caviar submit SPEC --address http://HEAD:8265`` uploads the working directory (the spec, the user's
trainable modules and data; not .venv, results, .git or files holding secrets: see
``caviar.cluster.upload``) as the job's ``working_dir`` and runs
``caviar run SPEC --address auto`` there: the sweep's driver runs on the head, next to the cluster.
caviar must be installed on the cluster's nodes (the same version as here).
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from caviar.cluster.connect import PROBE_TIMEOUT_S, match_auth_mode
from caviar.cluster.network import is_loopback
from caviar.cluster.upload import Upload, plan_upload
from caviar.errors import SpecError

logger = logging.getLogger(__name__)


def job_client(address: str) -> Any:
    """A JobSubmissionClient for the dashboard at ``address``; SpecError in seconds if none answers."""
    from caviar.cluster.connect import probe

    parsed = urlparse(address if "://" in address else f"http://{address}")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise SpecError("--address", f"expected the dashboard's http://HOST:8265, got {address!r}")
    port = parsed.port or (443 if parsed.scheme == "https" else 8265)
    probe(address, parsed.hostname, port)
    url = f"{parsed.scheme}://{parsed.hostname}:{port}"
    wants_token = dashboard_asks_for_token(address, url)
    if wants_token and parsed.scheme == "http" and not is_loopback(parsed.hostname):
        logger.warning(
            "caviar: warning: the Ray token goes to %s over plain http, readable on the way; "
            "use a tunnel (ray dashboard, ssh -L, kubectl port-forward) or https",
            url,
        )
    match_auth_mode(address, wants_token)
    from ray.job_submission import JobSubmissionClient

    try:
        return JobSubmissionClient(url)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise SpecError(
            "--address", f"cannot use the Ray dashboard at {url}: {_first(error)}"
        ) from None


def dashboard_asks_for_token(address: str, url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Ask the dashboard for its job list without a token: True if it answers 401 (it wants one).

    The token (``~/.ray/auth_token``) goes only to a dashboard that asked for it, never to
    whatever ``--address`` names; a dashboard without authentication gets none.
    """
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{url}/api/jobs/", method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return False
    except urllib.error.HTTPError as error:
        return error.code == 401
    except (urllib.error.URLError, OSError) as error:
        raise SpecError(
            "--address", f"cannot use the Ray dashboard at {url}: {_first(error)}"
        ) from None


def entrypoint(spec_relative: str, overrides: list[str]) -> str:
    """The job's command: the sweep's driver on the cluster, joining it with ``--address auto``."""
    words = ["caviar", "run", spec_relative, "--address", "auto"]
    for override in overrides:
        words += ["--set", override]
    return shlex.join(words)


def submit(
    spec_path: str,
    address: str,
    working_dir: str = ".",
    overrides: list[str] | None = None,
    job_id: str | None = None,
    upload: Upload | None = None,
) -> str:
    """Submit the sweep as a Ray job; returns the job id. ``upload``: from ``plan_upload``."""
    root = Path(working_dir).resolve()
    spec = Path(spec_path).resolve()
    if not spec.is_relative_to(root):
        raise SpecError(
            "SPEC", f"{spec_path} is outside the uploaded directory {root} (--working-dir)"
        )
    upload = upload or plan_upload(root)
    if spec.relative_to(root).as_posix() not in upload.files:
        raise SpecError(
            "SPEC",
            f"{spec_path} would not be uploaded (.gitignore, .rayignore or caviar's excludes "
            "leave it out); move it or un-ignore it",
        )
    client = job_client(address)
    try:
        return str(
            client.submit_job(
                entrypoint=entrypoint(str(spec.relative_to(root)), overrides or []),
                runtime_env={"working_dir": str(root), "excludes": upload.excludes},
                submission_id=job_id,
                metadata={"caviar_spec": str(spec.relative_to(root))},
            )
        )
    except (RuntimeError, ValueError) as error:
        raise SpecError("SPEC", f"the cluster refused the job: {_first(error)}") from None


def status(job_id: str, address: str) -> str:
    """The job's status (PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED)."""
    client = job_client(address)
    try:
        return str(client.get_job_status(job_id).value)
    except RuntimeError as error:
        raise SpecError("JOB", f"no job {job_id!r} at {address}: {_first(error)}") from None


def logs(job_id: str, address: str) -> str:
    """Everything the job printed so far."""
    client = job_client(address)
    try:
        return str(client.get_job_logs(job_id))
    except RuntimeError as error:
        raise SpecError("JOB", f"no job {job_id!r} at {address}: {_first(error)}") from None


def follow(job_id: str, address: str) -> Iterator[str]:
    """The job's output as it is printed, until the job ends."""
    import asyncio

    client = job_client(address)
    stream = client.tail_job_logs(job_id)
    loop = asyncio.new_event_loop()
    try:
        while True:
            try:
                yield loop.run_until_complete(stream.__anext__())
            except StopAsyncIteration:
                return
    finally:
        loop.close()


def stop(job_id: str, address: str) -> bool:
    """Ask the cluster to stop the job; False if it had already ended."""
    client = job_client(address)
    try:
        return bool(client.stop_job(job_id))
    except RuntimeError as error:
        raise SpecError("JOB", f"no job {job_id!r} at {address}: {_first(error)}") from None


def _first(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
