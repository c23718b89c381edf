"""The contestants of the anytime benchmark: caviar's modes as sweep specs, and the peers' commands.

Every caviar mode is a spec that ``caviar run SPEC`` runs, as a user would run it; the peers are
``python -m benchmarks.peers TOOL``. All get the same space, epochs and wall budget. caviar's
trials run the built-in mlp or cnn through ``benchmarks.anytime_trainables:caviar_mlp`` (or
``caviar_cnn``), which adds a test score and the wall clock to each report (see there); the fused
mode runs the built-in ``mlp`` itself, since only it fuses.

The recommended mode is a spec with no ``search:`` and no ``scheduler:``: it runs whatever this
caviar resolves such a spec to, so it needs no import here and follows caviar's definition.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.anytime_trainables import PROBLEM_KEY
from benchmarks.problems import LABEL, PROBLEMS, Problem, caviar_space

TRAINABLE = "benchmarks.anytime_trainables:caviar_{model}"
MANY = 100_000  # "sample until the time budget is spent", for modes that draw without a plan
PEERS = {
    "Optuna (TPE + HyperbandPruner)": "optuna",
    "Ray Tune (ASHA + random)": "ray_asha",
    "Ray Tune (ASHA + OptunaSearch)": "ray_optuna",
}
RECOMMENDED = "caviar recommended (no search:, no scheduler:)"
RANDOM_FIFO = "caviar random + fifo"
RANDOM_ASHA = "caviar random + ASHA"
FUSED = "caviar fused (fuse: auto) + ASHA"
PANDA_MODE = "panda (one hand-tuned model, 3x epochs)"


@dataclass(frozen=True)
class Plan:
    """How big each mode's sweep is where a mode needs a plan (coarse_to_fine rounds, fused
    bundles, PBT's population)."""

    coarse_to_fine: int
    fused: int
    population: int


def caviar_modes(plan: Plan) -> dict[str, dict[str, Any]]:
    """Each caviar mode's spec keys beyond the common ones."""
    return {
        PANDA_MODE: {"panda": True},
        RANDOM_FIFO: {"search": {"algorithm": "random", "num_samples": MANY}, "scheduler": "fifo"},
        RANDOM_ASHA: {"search": {"algorithm": "random", "num_samples": MANY}, "scheduler": "asha"},
        "caviar HyperBand": {
            "search": {"algorithm": "random", "num_samples": MANY},
            "scheduler": "hyperband",
        },
        "caviar TPE + ASHA": {
            "search": {"algorithm": "tpe", "num_samples": MANY},
            "scheduler": "asha",
        },
        "caviar coarse_to_fine + ASHA": {
            "search": {
                "algorithm": "coarse_to_fine",
                "num_samples": plan.coarse_to_fine,
                "rounds": 3,
                "top_k": 5,
            },
            "scheduler": "asha",
        },
        "caviar PBT": {
            "search": {"algorithm": "random", "num_samples": plan.population},
            "scheduler": "pbt",
            "checkpoint_every": 2,  # PBT's perturbation_interval: it clones checkpoints
        },
        FUSED: {
            "search": {"algorithm": "random", "num_samples": plan.fused},
            "scheduler": "asha",
            "fuse": "auto",
        },
        RECOMMENDED: {},
    }


# Seconds a process takes beyond its wall budget (start-up, the last epochs, shutdown), measured
# on 2 cores: for the estimate only.
OVERHEAD_S = {"caviar": 14.0, "ray": 12.0, "optuna": 6.0}
FEW = (RECOMMENDED, RANDOM_FIFO, *PEERS)


@dataclass(frozen=True)
class Size:
    """How much of the anytime benchmark runs: seeds, problems and their budgets, contestants."""

    seeds: int
    budgets: dict[str, float]  # the problems that run, and each one's wall budget (s)
    modes: dict[str, tuple[str, ...]]  # each problem's contestants; absent: every mode and peer
    plan: Plan

    def contestants(self, problem: str) -> list[str]:
        every = [*caviar_modes(self.plan), *PEERS]
        if PROBLEMS[problem].model != "mlp":
            every.remove(FUSED)  # only the mlp fuses
        chosen = self.modes.get(problem)
        return every if chosen is None else [m for m in every if m in chosen]


FULL = Size(
    5,
    {"mnist1d": 20.0, "mnist1d_cnn": 45.0, "digits": 10.0},
    {"mnist1d_cnn": (*FEW, RANDOM_ASHA), "digits": FEW},
    Plan(coarse_to_fine=48, fused=256, population=8),
)
QUICK = Size(
    1,
    {"mnist1d": 8.0, "mnist1d_cnn": 8.0},
    {"mnist1d_cnn": (RECOMMENDED, *list(PEERS)[:2])},
    Plan(coarse_to_fine=12, fused=64, population=4),
)


def estimate(size: Size, problems: list[str], modes: dict[str, list[str]] | None = None) -> float:
    """The seconds a size takes: every run's budget plus its process overhead (OVERHEAD_S)."""
    total = 0.0
    for name in problems:
        for label in size.contestants(name) if modes is None else modes[name]:
            kind = (
                "optuna" if PEERS.get(label) == "optuna" else "ray" if label in PEERS else "caviar"
            )
            total += size.seeds * (size.budgets[name] + OVERHEAD_S[kind])
    return total


def data_spec(
    tables: dict[str, Path], held_out: bool, shape: tuple[int, ...] | None = None
) -> dict[str, Any]:
    """The spec's ``data:``: the problem's own validation and test files where this caviar takes
    them, else train + val in one file (caviar splits off its own validation rows); ``shape``:
    one row's, for the cnn."""
    if shape:
        return {**data_spec(tables, held_out), "shape": list(shape)}
    if held_out:
        return {
            "path": str(tables["train"]),
            "target": LABEL,
            "validation": str(tables["val"]),
            "test": str(tables["test"]),
        }
    return {"path": str(tables["trainval"]), "target": LABEL}


def takes_held_out(tables: dict[str, Path]) -> bool:
    """Whether this caviar's ``data:`` takes ``validation:`` and ``test:`` files."""
    from caviar.errors import SpecError
    from caviar.spec.parse import parse_spec

    probe = {
        "name": "probe",
        "trainable": "mlp",
        "data": data_spec(tables, True),
        "metric": "val_accuracy",
        "mode": "max",
        "space": {"epochs": 1},
    }
    try:
        parse_spec(probe)
    except SpecError:
        return False
    return True


def caviar_spec(
    label: str,
    problem: Problem,
    plan: Plan,
    seed: int,
    budget_s: float,
    data: dict[str, Any],
    storage: Path,
    rows: Path,
) -> dict[str, Any]:
    """The sweep spec of one caviar mode at one seed; ``rows``: the problem's ``.npz``."""
    extra = dict(caviar_modes(plan)[label])
    epochs = problem.panda_epochs if extra.pop("panda", False) else problem.epochs
    fused = "fuse" in extra
    every = int(extra.pop("checkpoint_every", epochs))  # ASHA and HyperBand never resume a trial
    space: dict[str, Any] = {
        **caviar_space(problem.space),
        **problem.fixed,
        "epochs": epochs,
        "checkpoint_every": every,
    }
    if not fused:
        space[PROBLEM_KEY] = str(rows)
    spec: dict[str, Any] = {
        "name": f"{problem.name}-{_slug(label)}-s{seed}",
        "trainable": problem.model if fused else TRAINABLE.format(model=problem.model),
        "data": data,
        "metric": "val_accuracy",
        "mode": "max",
        "space": space,
        "resources": {"cpu": 1},
        "seed": seed,
        "storage": str(storage),
        "budget": {"time_s": budget_s},
    }
    if label == PANDA_MODE:
        spec["space"] = {**space, **problem.panda}
        spec["search"] = {"algorithm": "random", "num_samples": 1}
        spec["resources"] = {"cpu": os.cpu_count() or 1}  # one model: it gets every core
    for key, value in extra.items():
        spec[key] = {"name": value} if key == "scheduler" else value
    return spec


def _slug(label: str) -> str:
    keep = "".join(c if c.isalnum() else "-" for c in label.lower().replace("caviar ", ""))
    return "-".join(part for part in keep.split("-") if part)[:40]
