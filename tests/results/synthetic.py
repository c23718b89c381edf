"""Synthetic Tune results for driving ParquetResultsCallback without Ray's trial runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from ray.tune.experiment import Trial

from caviar.results.store import SweepStore
from caviar.results.writer import ResultsWriter
from caviar.search_spaces import Space
from caviar.tune.callbacks_results import ParquetResultsCallback

SPACE = {"lr": "loguniform(1e-4, 1)", "units": "integer(8, 64)", "opt": 'choice("sgd", "adam")'}


def make_callback(sweep: Path | str, **options: Any) -> ParquetResultsCallback:
    """A callback writing to ``sweep``, whose sweep.yaml is a spec of the synthetic results."""
    store = SweepStore.at(str(sweep))
    spec = {
        "name": str(sweep).rstrip("/").rsplit("/", 1)[-1],
        "trainable": "tests.results.killable:train",
        "metric": "loss",
        "mode": "min",
        "space": SPACE,
    }
    text = yaml.safe_dump(spec, sort_keys=False)
    store.write_text("sweep.yaml", text)
    return ParquetResultsCallback(
        ResultsWriter(store, Space.from_dict(SPACE), "loss", "min", text, "0.0.0", **options)
    )


def make_trials(n: int, start: int = 0) -> list[Trial]:
    return [
        Trial(
            "synthetic",
            config={"lr": 10 ** -(1 + i % 3), "units": 8 + i % 50, "opt": ("sgd", "adam")[i % 2]},
            trial_id=f"t{i:06d}",
            stub=True,
        )
        for i in range(start, start + n)
    ]


def result(trial: Trial, iteration: int, done: bool = False) -> dict[str, Any]:
    return {
        "loss": 1.0 / iteration + 0.01 * int(trial.trial_id[1:]),
        "accuracy": 1.0 - 1.0 / (iteration + 1),
        "training_iteration": iteration,
        "time_total_s": 0.1 * iteration,
        "done": done,
        "trial_id": trial.trial_id,
        "config": trial.config,
    }


def drive(
    callback: ParquetResultsCallback, trials: list[Trial], iterations: range
) -> Iterator[tuple[Trial, int]]:
    """Report ``iterations`` of every trial, round-robin as Tune interleaves them."""
    for trial in trials:
        callback.on_trial_start(0, trials, trial)
    for iteration in iterations:
        for trial in trials:
            callback.on_trial_result(0, trials, trial, result(trial, iteration))
            yield trial, iteration
