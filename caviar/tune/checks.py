"""The checks of a new sweep that need no Ray: the storage can be written, no other sweep has that
name, the data loads. ``caviar run`` calls them before Ray starts (bad input is one line, exit 2,
nothing written), and imports the Tune machinery (``caviar.tune.run``) only afterwards, while
Ray starts: so this module imports no Ray.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pyarrow.fs as pafs

from caviar.errors import SpecError, nested_error
from caviar.results.store import SPEC_FILE, SweepStore
from caviar.spec.model import SweepSpec
from caviar.spec.parse import parse_spec
from caviar.tune.resolved import spec_yaml

__all__ = ["prepare", "refuse_existing"]


def prepare(spec: SweepSpec) -> SweepStore:
    """Check that the sweep can be written, and write nothing: errors are SpecErrors."""
    try:
        store = SweepStore.at(spec.sweep_uri)
    except (OSError, ValueError) as error:
        raise SpecError("storage", f"cannot use {spec.storage}: {_first_line(error)}") from None
    if isinstance(store.filesystem, pafs.LocalFileSystem):
        _check_local_writable(Path(store.root))
    else:
        _check_bucket(store, spec.storage)
    if store.exists(SPEC_FILE):
        refuse_existing(store, spec)
    if spec.data is not None:
        from caviar.trainables.data import check_data

        try:
            check_data(spec.data)
        except ValueError as error:
            raise nested_error("data", error) from None
    return store


def refuse_existing(store: SweepStore, spec: SweepSpec) -> None:
    """A sweep of that name exists: say whether it is this spec (resume it) or another one."""
    import yaml

    try:
        existing = yaml.safe_load(store.read_text(SPEC_FILE)) or {}
    except (OSError, yaml.YAMLError):
        existing = {}
    ours = yaml.safe_load(spec_yaml(spec))
    # An older sweep.yaml holds the spec as written: compare resolved with resolved.
    with contextlib.suppress(SpecError, TypeError, ValueError):
        existing = yaml.safe_load(spec_yaml(parse_spec(existing)))
    differ = sorted(
        key
        for key in set(existing) | set(ours)
        if key not in ("name", "storage", "history") and existing.get(key) != ours.get(key)
    )
    where = f"a sweep named {spec.name!r} already exists at {spec.sweep_uri}"
    if differ:
        raise SpecError(
            "name",
            f"{where} with a different spec ({', '.join(differ)} differ): "
            "pick another --name, or delete that sweep first",
        )
    raise SpecError(
        "name", f"{where}: continue it with `caviar resume {spec.sweep_uri}` or pick another --name"
    )


def _check_bucket(store: SweepStore, storage: str) -> None:
    """An object store: the bucket must exist and answer (checked by listing, writing nothing)."""
    bucket = store.root.split("/", 1)[0]
    try:
        info = store.filesystem.get_file_info(bucket)
    except OSError as error:
        raise SpecError("storage", f"cannot reach {storage}: {_first_line(error)}") from None
    if info.type == pafs.FileType.NotFound:
        raise SpecError("storage", f"cannot write to {storage}: bucket {bucket!r} does not exist")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _check_local_writable(path: Path) -> None:
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise SpecError("storage", f"cannot write to {existing}")
