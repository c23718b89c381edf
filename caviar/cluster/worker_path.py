"""Letting Ray workers import the user's modules from the driver's directory, after everything else.

Workers start in Ray's session directory, so a trainable module next to the spec (``trainable:
my_model:train``) is not importable there by default. Putting the driver's directory first on
PYTHONPATH would fix that, and would also let any module in that directory (``/tmp`` is shared)
shadow the standard library and installed packages on every worker, in place of the cluster's
own PYTHONPATH. Instead each worker appends the directory to ``sys.path`` when it starts (Ray's
``worker_process_setup_hook``): installed packages and the cluster's paths come first.
"""

from __future__ import annotations

import os
import sys

from caviar.cluster import compat

DRIVER_PATH_ENV = "CAVIAR_DRIVER_PATH"
HOOK = f"{__name__}.append_driver_path"


def runtime_env(directory: str | None = None) -> dict[str, object]:
    """The Ray runtime_env that appends ``directory`` (default: the current one) on workers."""
    return {
        "env_vars": {DRIVER_PATH_ENV: directory or os.getcwd()},
        compat.worker_setup_hook_key(): HOOK,
    }


def append_driver_path() -> None:
    """Runs in each worker as it starts: the driver's directory goes last on ``sys.path``."""
    path = os.environ.get(DRIVER_PATH_ENV)
    if path and path not in sys.path:
        sys.path.append(path)
