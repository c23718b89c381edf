"""Every private Ray name the cluster code touches (``ray._private``, ``ray._raylet``), one place.

None of these is public Ray API, so an upgrade may move them; tests/tune/test_compat.py checks
each against the pinned Ray. Ray Tune's private names are in ``caviar.tune.compat``.

* ``ray._private.services.canonicalize_bootstrap_address``: resolve ``auto``/``HOST:PORT`` to
  the GCS address exactly as ``ray.init`` will (``bootstrap_address``).
* ``ray._raylet.Config.initialize`` and ``AuthenticationTokenLoader``: match the driver's auth
  mode to the cluster's (``reload_ray_config``, ``has_auth_token``).
* ``ray._private.ray_constants`` and ``ray._private.runtime_env.packaging``: the files Ray packs
  as a job's working_dir (``upload_excludes``, ``ignore_gitignore_env``, ``walk_upload``).
* The runtime_env key of the worker setup hook (``worker_setup_hook_key``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any


def bootstrap_address(address: str) -> str | None:
    """The GCS ``host:port`` ``ray.init(address)`` talks to; None for ``local``.

    Raises ConnectionError or ValueError as Ray does when there is none.
    """
    from ray._private import services

    canonical = services.canonicalize_bootstrap_address(address)
    return None if canonical is None else str(canonical)


def reload_ray_config() -> None:
    """Make Ray's C++ config read the environment again (after RAY_AUTH_MODE changed)."""
    from ray._raylet import Config  # type: ignore[attr-defined]

    Config.initialize("")


def has_auth_token() -> bool:
    """Whether a Ray auth token is set here (file, RAY_AUTH_TOKEN_PATH or RAY_AUTH_TOKEN)."""
    from ray._raylet import AuthenticationTokenLoader  # type: ignore[attr-defined]

    return bool(AuthenticationTokenLoader.instance().has_token(ignore_auth_mode=True))


def ignore_gitignore_env() -> str:
    """The environment variable that makes Ray's packing ignore ``.gitignore``."""
    from ray._private import ray_constants

    return str(ray_constants.RAY_RUNTIME_ENV_IGNORE_GITIGNORE)


def default_upload_excludes() -> list[str]:
    """Ray's own default excludes of a working_dir upload."""
    from ray._private import ray_constants

    return list(ray_constants.get_runtime_env_default_excludes())


def exclude_matcher(root: Path, patterns: list[str]) -> Callable[[Path], bool]:
    """Ray's gitwildmatch matcher of ``patterns`` under ``root``."""
    from ray._private.runtime_env import packaging

    matcher: Callable[[Path], bool] = packaging._get_excludes(root, patterns)
    return matcher


def walk_upload(
    root: Path,
    excludes: list[Callable[[Path], bool]],
    visit: Callable[[Path], None],
    include_gitignore: bool,
    logger: logging.Logger,
) -> None:
    """Ray's own traversal of a working_dir, as it packs it: ``visit`` every path it keeps."""
    from ray._private.runtime_env import packaging

    packaging._dir_travel(root, excludes, visit, include_gitignore=include_gitignore, logger=logger)


def worker_setup_hook_key() -> str:
    """The runtime_env field naming a function each worker runs as it starts."""
    return "worker_process_setup_hook"


def runtime_env_fields() -> Any:
    """The fields Ray's RuntimeEnv knows (for the test that the hook key is one)."""
    from ray.runtime_env import RuntimeEnv

    return RuntimeEnv.known_fields
