"""Open a stored sweep: the one "is this a caviar sweep?" check every command and reader shares.

A sweep directory is one with a readable ``sweep.yaml`` holding a mapping with ``metric`` and
``space``. Anything else (no such directory, no sweep.yaml, a sweep.yaml caviar did not write, a
storage that cannot be opened) raises ``UnreadableResults`` with one line: a problem with what is
on disk, exit 1, not bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from caviar.errors import UnreadableResults
from caviar.objective import Objective, as_mode
from caviar.results.pareto import spec_objectives
from caviar.results.store import SPEC_FILE, SweepStore


@dataclass(frozen=True)
class SweepDir:
    """A stored sweep: where it is, its store, and the spec it was run with (sweep.yaml)."""

    uri: str
    store: SweepStore
    text: str
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        """The sweep's name (its directory's name where the spec has none)."""
        return str(self.spec.get("name") or self.uri.split("?", 1)[0].rstrip("/").rsplit("/")[-1])

    @property
    def objectives(self) -> list[Objective]:
        """What the sweep optimises: one objective, or one per metric of a multi-objective sweep."""
        return [Objective(metric, as_mode(mode)) for metric, mode in spec_objectives(self.spec)]

    @property
    def objective(self) -> Objective:
        """The sweep's (first) objective: what its best trial is chosen by."""
        return self.objectives[0]


def is_sweep_dir(uri: str) -> bool:
    """Whether ``uri`` holds a sweep.yaml (cheap: the spec is not read)."""
    try:
        return SweepStore.at(uri).exists(SPEC_FILE)
    except (OSError, ValueError):
        return False


def open_sweep_dir(uri: str) -> SweepDir:
    """The sweep stored at ``uri``; ``UnreadableResults`` (one line) if it is not a caviar sweep."""
    try:
        store = SweepStore.at(uri)
        found = store.exists(SPEC_FILE)
    except (OSError, ValueError) as error:
        raise UnreadableResults(f"cannot open {uri}: {error}") from None
    if not found:
        raise UnreadableResults(f"no caviar sweep at {uri} ({SPEC_FILE} not found)")
    try:
        text = store.read_text(SPEC_FILE)
        spec = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise UnreadableResults(f"{uri}/{SPEC_FILE} cannot be read: {error}") from None
    if not isinstance(spec, dict) or "metric" not in spec or "space" not in spec:
        raise UnreadableResults(f"{uri}/{SPEC_FILE} is not a caviar sweep spec")
    return SweepDir(uri, store, text, spec)
