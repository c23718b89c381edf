"""Synthetic sweep results for the report tests, written with caviar's own writers.

The metric depends strongly on ``lr`` (best near 1e-2), a little on ``momentum`` and not on the
rest, so importance has a known answer. ASHA-like: a quarter of the trials run to the end, the
others stop at rung 2 or 6 (``stopped_early``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import yaml

from caviar.results.store import SweepStore
from caviar.results.tables import build_table, param_types
from caviar.search_spaces import Space

SPACE = {
    "lr": "loguniform(1e-4, 1)",
    "momentum": "reverse_loguniform(0.9, 0.999)",
    "units": "integer(8, 64)",
    "opt": 'choice("sgd", "adam")',
    "epochs": 20,
}


def write_sweep(
    root: Path,
    trials: int = 40,
    iterations: int = 20,
    name: str = "synthetic",
    rounds: int = 0,
    running: int = 0,
    seed: int = 0,
) -> str:
    """Write ``trials`` trials of ``iterations`` results under ``root/name``; returns the sweep dir.

    ``rounds``: add a coarse-to-fine ``round`` column (0..rounds-1, each round narrower in lr).
    ``running``: that many extra trials are RUNNING with no curve rows yet (a sweep in progress).
    """
    rng = np.random.default_rng(seed)
    space = Space.from_dict(SPACE)
    sweep = root / name
    store = SweepStore.at(str(sweep))
    spec = {
        "name": name,
        "trainable": "mlp",
        "metric": "loss",
        "mode": "min",
        "space": SPACE,
        "search": {"algorithm": "coarse_to_fine" if rounds else "random", "num_samples": trials},
        "scheduler": {
            "name": "asha",
            "max_t": iterations,
            "grace_period": 2,
            "reduction_factor": 3,
        },
    }
    store.write_text("sweep.yaml", yaml.safe_dump(spec, sort_keys=False))
    trial_rows: list[dict[str, Any]] = []
    curve_rows: list[dict[str, Any]] = []
    for index in range(trials + running):
        config = space.sample(rng)
        round_ = index % rounds if rounds else None
        if round_:
            config["lr"] = float(10 ** rng.uniform(-2 - 1 / (round_ + 1), -2 + 1 / (round_ + 1)))
        trial_id = f"t{index:05d}"
        if index >= trials:
            trial_rows.append({"trial_id": trial_id, "status": "RUNNING", **config})
            continue
        floor = 0.2 + (np.log10(config["lr"]) + 2) ** 2 + 2 * (1 - config["momentum"])
        draw = rng.uniform()
        length = iterations if draw < 0.25 else (6 if draw < 0.5 else 2)
        losses = floor + 2.0 / np.arange(1, length + 1) + rng.normal(0, 0.01, length)
        for step, loss in enumerate(losses, start=1):
            curve_rows.append(
                {
                    "trial_id": trial_id,
                    "iteration": step,
                    "loss": float(loss),
                    "time_total_s": 0.1 * step,
                }
            )
        row = {
            "trial_id": trial_id,
            "status": "TERMINATED",
            **config,
            "loss": float(losses[-1]),
            "best_loss": float(losses.min()),
            "iterations": length,
            "stopped_early": length < iterations,
        }
        if rounds:
            row["round"] = round_
        trial_rows.append(row)
    fixed = {"trial_id": pa.string(), "status": pa.string(), **param_types(space)}
    fixed |= {"best_loss": pa.float64(), "iterations": pa.int64(), "stopped_early": pa.bool_()}
    store.write_trials(build_table(trial_rows, fixed, {}))
    if curve_rows:
        curve_fixed = {"trial_id": pa.string(), "iteration": pa.int64()}
        store.append_curves(build_table(curve_rows, curve_fixed, {}), 0)
    return str(sweep)
