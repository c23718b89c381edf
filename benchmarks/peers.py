"""The tools a caviar user would otherwise pick, run as their users run them, one per process.

    python -m benchmarks.peers optuna --problem mnist1d --arrays mnist1d.npz --budget 60 --out r.parquet

- ``optuna``: Optuna in one process, TPE sampler + HyperbandPruner, ``study.optimize(n_jobs=CPUs,
  timeout=budget)``; the objective reports val_accuracy each epoch and asks ``should_prune``.
  Optuna's ``timeout`` only stops new trials, so the objective also stops its trial at the budget
  (as Ray Tune's ``time_budget_s`` and caviar's ``budget.time_s`` stop theirs): the process then
  ends near the budget, as the others do, instead of finishing every running trial.
- ``ray_asha``: plain Ray Tune with its defaults: ``Tuner`` + ``ASHAScheduler(max_t=epochs)``, the
  BasicVariantGenerator (random search), one CPU per trial, ``time_budget_s=budget``.
- ``ray_optuna``: the same Tuner with ``OptunaSearch`` (TPE) as its search algorithm.

Same space (the problem's, benchmarks.problems), same model, training loop and epochs (caviar's
built-in family, anytime_trainables.train_builtin), same wall budget as the caviar modes. Every reported epoch becomes one row of ``--out``: trial,
iteration, val_accuracy, val_loss, test_accuracy, wall_clock.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.anytime_trainables import train_builtin
from benchmarks.problems import PROBLEMS, Problem, optuna_params, ray_space

TOOLS = ("optuna", "ray_asha", "ray_optuna")
COLUMNS = ["trial", "iteration", "val_accuracy", "val_loss", "test_accuracy", "wall_clock"]


def run_optuna(
    problem: Problem, arrays: str, epochs: int, budget: float, seed: int, jobs: int
) -> pd.DataFrame:
    """TPE + HyperbandPruner with n_jobs threads, until the timeout."""
    import threading
    import time

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows: list[dict[str, Any]] = []
    lock = threading.Lock()
    deadline = time.time() + budget

    def objective(trial: optuna.Trial) -> float:
        config = {**optuna_params(trial, problem.space), **problem.fixed, "seed": trial.number}
        best = 0.0

        def report(epoch: int, metrics: dict[str, float]) -> bool:
            nonlocal best
            with lock:
                rows.append({"trial": str(trial.number), "iteration": epoch, **metrics})
            best = max(best, metrics["val_accuracy"])
            trial.report(metrics["val_accuracy"], epoch)
            return bool(trial.should_prune()) or time.time() > deadline

        train_builtin(problem.model, config, arrays, epochs, report)
        return best

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs),
    )
    study.optimize(objective, timeout=budget, n_jobs=jobs)
    return pd.DataFrame(rows, columns=COLUMNS)


def _ray_trainable(config: dict[str, Any]) -> None:
    from ray import tune

    config = dict(config)
    model, rows, epochs = config.pop("model"), config.pop("problem"), int(config.pop("epochs"))

    def report(epoch: int, metrics: dict[str, float]) -> bool:
        tune.report(metrics)
        return False  # ASHA stops the trial inside tune.report

    train_builtin(model, config, rows, epochs, report)


def run_ray(
    problem: Problem, rows: str, epochs: int, budget: float, seed: int, searcher: str, storage: Path
) -> pd.DataFrame:
    """A Tuner with ASHA (Ray's defaults but max_t), random or OptunaSearch, until the budget."""
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    search_alg: Any
    if searcher == "optuna":
        from ray.tune.search.optuna import OptunaSearch

        search_alg = OptunaSearch(seed=seed)
    else:
        from ray.tune.search.basic_variant import BasicVariantGenerator

        search_alg = BasicVariantGenerator(random_state=seed)
    ray.init(include_dashboard=False, log_to_driver=False)
    try:
        tuner = tune.Tuner(
            _ray_trainable,
            param_space={
                **ray_space(problem.space),
                **problem.fixed,
                "model": problem.model,
                "problem": rows,
                "epochs": epochs,
                "seed": tune.randint(0, 2**31 - 1),
            },
            tune_config=tune.TuneConfig(
                metric="val_accuracy",
                mode="max",
                scheduler=ASHAScheduler(max_t=epochs),
                search_alg=search_alg,
                num_samples=-1,  # sample until the time budget is spent
                time_budget_s=budget,
            ),
            run_config=tune.RunConfig(storage_path=str(storage), verbose=0),
        )
        grid = tuner.fit()
        frames = []
        for index in range(len(grid)):
            result = grid[index]
            frame = result.metrics_dataframe
            if frame is None or not len(frame):
                continue
            frame = frame.rename(columns={"training_iteration": "iteration"})
            frame["trial"] = str((result.metrics or {}).get("trial_id", index))
            frames.append(frame.reindex(columns=COLUMNS))
    finally:
        ray.shutdown()
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("tool", choices=TOOLS)
    parser.add_argument("--problem", choices=sorted(PROBLEMS), default="mnist1d")
    parser.add_argument("--arrays", type=Path, required=True, help="the problem's .npz")
    parser.add_argument("--budget", type=float, required=True, help="wall seconds of search")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="default: the problem's")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    problem = PROBLEMS[args.problem]
    epochs = args.epochs or problem.epochs
    if args.tool == "optuna":
        jobs = os.cpu_count() or 1
        frame = run_optuna(problem, str(args.arrays), epochs, args.budget, args.seed, jobs)
    else:
        with tempfile.TemporaryDirectory(prefix="caviar-bench-ray-") as storage:
            frame = run_ray(
                problem,
                str(args.arrays),
                epochs,
                args.budget,
                args.seed,
                "optuna" if args.tool == "ray_optuna" else "random",
                Path(storage),
            )
    frame.to_parquet(args.out)
    print(f"{args.tool}: {frame['trial'].nunique()} trials, {len(frame)} results", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
