"""Trackers: a sweep in MLflow (a parent run, a child run per trial) and in TensorBoard.

``loggers: [mlflow, tensorboard]`` logs a sweep live (``TrackerCallback``), ``caviar export``
replays one that already ran (``export_sweep``); both write through the same ``Sink`` per tracker
(``base.py``). The tracker packages are optional extras, imported only when a tracker is used.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from caviar.results.trackers.base import Sink, replay

TRACKERS = ("mlflow", "tensorboard")
TENSORBOARD_DIR = "tensorboard"


def default_logdir(sweep_uri: str) -> str:
    """TensorBoard's default: ``<sweep_dir>/tensorboard`` (local sweeps only)."""
    return f"{sweep_uri.rstrip('/')}/{TENSORBOARD_DIR}"


def make_sink(
    name: str,
    options: Mapping[str, Any],
    sweep_name: str,
    sweep_uri: str,
    source: str = "live",
) -> Sink:
    """The sink of tracker ``name`` with its spec options (``mlflow:`` / ``tensorboard:``)."""
    if name == "mlflow":
        from caviar.results.trackers.mlflow_sink import MlflowSink

        return MlflowSink(
            sweep_name,
            sweep_uri,
            tracking_uri=options.get("tracking_uri"),
            experiment=options.get("experiment"),
            source=source,
        )
    if name == "tensorboard":
        from caviar.results.trackers.tensorboard_sink import TensorboardSink

        return TensorboardSink(str(options.get("logdir") or default_logdir(sweep_uri)))
    raise ValueError(f"unknown tracker {name!r} (known: {', '.join(TRACKERS)})")


def sink_factories(
    names: list[str] | tuple[str, ...],
    options: Mapping[str, Mapping[str, Any]],
    sweep_name: str,
    sweep_uri: str,
) -> list[Callable[[], Sink]]:
    """Picklable makers of the live sinks (the callback makes them on the driver in setup)."""
    return [
        functools.partial(make_sink, name, dict(options.get(name, {})), sweep_name, sweep_uri)
        for name in names
        if name in TRACKERS
    ]


def export_sweep(sweep_dir: str, tracker: str, options: Mapping[str, Any]) -> tuple[int, int]:
    """Replay a sweep's Parquet tables into ``tracker``: (trials, curve rows) sent."""
    import yaml

    from caviar.results.readers import read_curves, read_trials
    from caviar.results.store import SPEC_FILE, SweepStore
    from caviar.search_spaces import Space

    spec = yaml.safe_load(SweepStore.at(sweep_dir).read_text(SPEC_FILE)) or {}
    name = str(spec.get("name") or sweep_dir.rstrip("/").rsplit("/", 1)[-1])
    trials = read_trials(sweep_dir, dtype_backend="pyarrow")
    curves = read_curves(sweep_dir, dtype_backend="pyarrow")
    space = Space.from_dict(spec.get("space") or {})
    params = [*space, "seed", "round", "confirm_of"]
    sink = make_sink(tracker, options, name, sweep_dir.rstrip("/"), source="export")
    rows = replay([sink], trials, curves, params)
    return len(trials), rows
