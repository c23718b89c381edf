"""What ``caviar submit`` uploads as the job's working_dir, decided and counted before it goes.

Ray packs the working directory itself, leaving out what ``.gitignore`` and ``.rayignore`` name
and its own short default list. caviar adds to that list: environments and caches, files that
usually hold secrets (``.env``, ``credentials``, keys, ``.aws``, ``.ssh``, ...), and every sweep
directory found inside (results belong in storage, not in a job's upload). The files are found
with Ray's own traversal of the directory (``ray._private.runtime_env.packaging``, through
``caviar.cluster.compat``, checked by the tests against the package Ray builds), so the count and
size printed are those of the upload.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from caviar.errors import SpecError

# Never uploaded: environments, results, VCS data, caches.
BUILD_EXCLUDES = [
    ".venv",
    "venv",
    ".git",
    "results",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "*.pyc",
]
# Never uploaded: files that usually hold credentials (.gitignore may not name them).
SECRET_EXCLUDES = [
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    "credentials",
    "credentials.*",
    ".git-credentials",
    ".netrc",
    ".pypirc",
    ".npmrc",
    ".aws",
    ".ssh",
    ".gnupg",
    ".docker",
    ".kube",
    "gcloud",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_ed25519*",
    "id_ecdsa*",
    "auth_token",
]


@dataclass(frozen=True)
class Upload:
    """The files of one submission: how many, their size, and what was left out and why."""

    root: Path
    files: tuple[str, ...]
    size_bytes: int
    excludes: list[str] = field(default_factory=list)  # gitignore-style, for Ray's runtime_env
    secrets_left_out: tuple[str, ...] = ()
    sweeps_left_out: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for the person submitting."""
        left = [*self.secrets_left_out, *(f"{s} (a sweep)" for s in self.sweeps_left_out)]
        shown = ", ".join(left[:8]) + (f" and {len(left) - 8} more" if len(left) > 8 else "")
        return (
            f"caviar: uploading {len(self.files)} files ({self.size_bytes / 1e6:.1f} MB) from "
            f"{self.root}; left out: {shown + '; ' if shown else ''}what .gitignore and "
            ".rayignore name, environments and caches"
        )


def plan_upload(working_dir: str | Path) -> Upload:
    """The files ``caviar submit`` sends from ``working_dir``, found as Ray will pack them."""
    from caviar.cluster import compat

    root = Path(working_dir).resolve()
    if not root.is_dir():
        raise SpecError("--working-dir", f"not a directory: {working_dir}")
    include_gitignore = os.environ.get(compat.ignore_gitignore_env(), "0") != "1"
    patterns = [*compat.default_upload_excludes(), *BUILD_EXCLUDES]
    secrets: list[str] = []
    sweeps: list[str] = []

    def recorded(match: Callable[[Path], bool], found: list[str]) -> Callable[[Path], bool]:
        def check(path: Path) -> bool:
            hit = path != root and match(path)
            if hit:
                found.append(path.relative_to(root).as_posix() + ("/" if path.is_dir() else ""))
            return hit

        return check

    files: list[str] = []
    size = 0

    def visit(path: Path) -> None:
        nonlocal size
        if path.is_file():
            files.append(path.relative_to(root).as_posix())
            size += path.stat().st_size

    excludes = [
        compat.exclude_matcher(root, patterns),
        recorded(compat.exclude_matcher(root, SECRET_EXCLUDES), secrets),
        recorded(_is_sweep, sweeps),
    ]
    compat.walk_upload(root, excludes, visit, include_gitignore, logging.getLogger(__name__))
    anchored = [f"/{s}" for s in sweeps]  # gitwildmatch: a leading / anchors at the root
    return Upload(
        root,
        tuple(sorted(files)),
        size,
        [*BUILD_EXCLUDES, *SECRET_EXCLUDES, *anchored],
        tuple(sorted(secrets)),
        tuple(sorted(sweeps)),
    )


def _is_sweep(path: Path) -> bool:
    """A caviar sweep directory: its sweep.yaml next to trials.parquet or curves/."""
    return (
        path.is_dir()
        and (path / "sweep.yaml").is_file()
        and ((path / "trials.parquet").is_file() or (path / "curves").is_dir())
    )
