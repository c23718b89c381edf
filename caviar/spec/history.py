"""A sweep's ``history:``: what ``extend``, ``continue``, ``--warm-start`` and ``zoom`` did to it.

The recorded spec (sweep.yaml) is the one place a sweep's plan lives, so the commands that grow a
sweep change it there and append one entry each to its ``history`` list, in the same atomic write:
a ``caviar resume`` after a kill -9 then continues the grown sweep, not the original one.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import yaml

from caviar.errors import SpecError
from caviar.results.store import SPEC_FILE, SweepStore, open_sweep

HISTORY = "history"


def recorded(sweep_uri: str, key: str = "SWEEP_DIR") -> tuple[SweepStore, dict[str, Any]]:
    """The sweep's store and its recorded spec; SpecError if ``sweep_uri`` is not a caviar sweep."""
    store = open_sweep(sweep_uri, key)
    try:
        raw = yaml.safe_load(store.read_text(SPEC_FILE))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        raw = None
    if not isinstance(raw, dict) or "metric" not in raw or "space" not in raw:
        raise SpecError(key, f"{sweep_uri}/{SPEC_FILE} is not a caviar sweep spec")
    return store, raw


def with_entry(raw: dict[str, Any], command: str, **fields: Any) -> dict[str, Any]:
    """A copy of the recorded spec with one more history entry (``command``, time, ``fields``)."""
    out = copy.deepcopy(raw)
    entry = {"command": command, "at": datetime.now(UTC).isoformat(timespec="seconds"), **fields}
    out[HISTORY] = [*list(out.get(HISTORY) or []), entry]
    return out


def entries(raw: dict[str, Any], command: str) -> list[dict[str, Any]]:
    """The history entries of one command, oldest first."""
    return [
        e for e in raw.get(HISTORY) or [] if isinstance(e, dict) and e.get("command") == command
    ]


def write_recorded(store: SweepStore, raw: dict[str, Any]) -> None:
    """Replace sweep.yaml atomically with ``raw``."""
    store.write_text(SPEC_FILE, yaml.safe_dump(raw, sort_keys=False))
