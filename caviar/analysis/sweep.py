"""A stored sweep as the analysis reads it: its spec (sweep.yaml), its objectives and its tables.

``read_spec`` is the one place that decides whether a directory is a caviar sweep and reads the
spec stored with it; every command and figure that needs the stored spec goes through it. A path
with no sweep.yaml is bad input (``SpecError`` naming the argument, exit 2); a sweep.yaml, a
space or a results file that this caviar cannot read is ``UnreadableResults`` (exit 1), so no
``FileNotFoundError``/``ValueError``/``KeyError`` of a damaged sweep reaches a person as a
traceback.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from caviar.errors import SpecError, UnreadableResults
from caviar.objective import Mode, Objective
from caviar.results.store import SPEC_FILE, open_sweep
from caviar.search_spaces import Space

if TYPE_CHECKING:  # pandas is imported where a table is read, not with the CLI
    import pandas as pd

SWEEP_KEY = "SWEEP_DIR"


@dataclass(frozen=True)
class StoredSpec:
    """The spec a sweep was run with, as sweep.yaml holds it, and what is read from it."""

    uri: str
    text: str
    raw: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.uri.rstrip('/')}/{SPEC_FILE}"

    @property
    def name(self) -> str:
        """The sweep's name: the spec's ``name``, else the directory's."""
        return str(self.raw.get("name") or self.uri.rstrip("/").rsplit("/", 1)[-1])

    @cached_property
    def objectives(self) -> tuple[Objective, ...]:
        """Every objective: one, or one per listed metric (a multi-objective sweep)."""
        return objectives_of(self.raw, self.where)

    @property
    def objective(self) -> Objective:
        """The sweep's objective; of a multi-objective sweep, the first."""
        return self.objectives[0]

    @cached_property
    def space(self) -> Space:
        """The search space, with the scale of every hyperparameter."""
        space = self.raw.get("space") or {}
        if not isinstance(space, Mapping):
            raise UnreadableResults(f"{self.where}: space: expected a mapping, got {space!r}")
        try:
            return Space.from_dict(space)
        except (ValueError, KeyError, TypeError) as error:
            raise UnreadableResults(f"{self.where}: space.{error}") from None


def objectives_of(raw: Mapping[str, Any], where: str) -> tuple[Objective, ...]:
    """The objectives of a stored spec: its ``metric`` and ``mode``, or their lists."""
    metric, mode = raw.get("metric"), raw.get("mode", "min")
    metrics = metric if isinstance(metric, list) else [metric]
    modes = mode if isinstance(mode, list) else [mode] * len(metrics)
    if not metrics or any(not isinstance(m, str) or not m for m in metrics):
        raise UnreadableResults(f"{where}: metric: expected a name, got {metric!r}")
    if len(modes) != len(metrics):
        raise UnreadableResults(f"{where}: mode: {len(modes)} modes for {len(metrics)} metrics")
    try:
        return tuple(Objective(m, d) for m, d in zip(metrics, modes, strict=True))
    except ValueError as error:
        raise UnreadableResults(f"{where}: {error}") from None


def read_spec(path: str, key: str = SWEEP_KEY) -> StoredSpec:
    """The spec stored with the sweep at ``path`` (local or s3://).

    ``SpecError(key)`` when ``path`` holds no caviar sweep or cannot be listed (the person named
    the wrong place); ``UnreadableResults`` when its sweep.yaml is not a spec caviar can read.
    """
    store = open_sweep(path, key)
    import yaml

    where = f"{path.rstrip('/')}/{SPEC_FILE}"
    try:
        text = store.read_text(SPEC_FILE)
        raw = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise UnreadableResults(
            f"{where}: cannot read it: {' '.join(str(error).split())}"
        ) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise UnreadableResults(f"{where} is not a caviar sweep spec (a mapping)")
    return StoredSpec(path, text, raw)


@dataclass(frozen=True)
class SweepData:
    """What the figures need from one sweep: its tables, its space, its metric and mode."""

    name: str
    trials: pd.DataFrame
    curves: pd.DataFrame
    space: Space
    metric: str
    mode: Mode
    spec: dict[str, Any]

    @property
    def objective(self) -> Objective:
        return Objective(self.metric, self.mode)

    @property
    def objectives(self) -> tuple[Objective, ...]:
        """Every objective of the stored spec (more than one: a multi-objective sweep)."""
        return objectives_of(self.spec, self.name)


def load_sweep(path: str) -> SweepData:
    """Read a sweep directory (local or s3://): trials, curves and the spec stored with them.

    A multi-objective sweep is ranked by its first objective. Errors: see ``read_spec``; a
    results file this caviar cannot read is ``UnreadableResults``.
    """
    stored = read_spec(path)
    objective, space = stored.objective, stored.space
    trials, curves = read_tables(path)
    return SweepData(
        name=stored.name,
        trials=trials,
        curves=curves,
        space=space,
        metric=objective.metric,
        mode=objective.mode,
        spec=stored.raw,
    )


def read_tables(path: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The trials and curves of the sweep at ``path``; what cannot be read is UnreadableResults."""
    from caviar.results.readers import read_curves, read_trials

    with reading(path):
        return read_trials(path), read_curves(path)


@contextmanager
def reading(path: str) -> Iterator[None]:
    """Around reading the results of ``path``: a file that cannot be read (gone, damaged, of a
    layout this caviar does not know) becomes one ``UnreadableResults`` line."""
    import pyarrow as pa

    try:
        yield
    except (SpecError, UnreadableResults):
        raise
    except (FileNotFoundError, KeyError, ValueError, pa.ArrowException) as error:
        message = " ".join(str(error).split())
        raise UnreadableResults(f"{path}: cannot read its results: {message}") from None
