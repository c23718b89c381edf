"""Connecting to Ray: an embedded local Ray by default, or an existing cluster by address.

``address=None`` (and no RAY_ADDRESS in the environment) starts a Ray inside this process that stops
with it. ``"auto"`` joins the cluster that ``ray start --head`` started on this machine;
``ray://HOST:10001`` or ``HOST:6379`` join a remote one.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from caviar.errors import SpecError


def runtime_env() -> dict[str, object]:
    """Let workers import the user's modules the way the driver does (from the current directory)."""
    paths = [os.getcwd(), *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in paths if p)}}


@contextmanager
def connected(address: str | None = None, num_cpus: int | None = None) -> Iterator[str]:
    """Connect to Ray for the duration of the block; an embedded Ray is shut down after it.

    Yields a one-line description of the Ray in use, for the person watching.
    """
    import ray

    address = address or os.environ.get("RAY_ADDRESS") or None
    if ray.is_initialized():
        yield "caviar: using the Ray this process is already connected to"
        return
    try:
        if address is None:
            context = ray.init(
                address="local",  # always a new embedded Ray, never a `ray start` one by accident
                num_cpus=num_cpus,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
                runtime_env=runtime_env(),
            )
        else:
            context = ray.init(
                address=address,
                log_to_driver=False,
                logging_level=logging.ERROR,
                runtime_env=runtime_env(),
            )
    except (ConnectionError, RuntimeError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SpecError("--address", f"cannot connect to Ray at {address!r}: {reason}") from None
    cpus = int(ray.cluster_resources().get("CPU", 0))  # type: ignore[no-untyped-call]
    gcs = getattr(context, "address_info", {}).get("gcs_address", "?")
    if address is None:
        description = f"caviar: started an embedded Ray ({cpus} CPUs)"
    else:
        description = f"caviar: connected to the Ray cluster at {gcs} ({cpus} CPUs)"
    try:
        yield description
    finally:
        ray.shutdown()
        sys.stdout.flush()
