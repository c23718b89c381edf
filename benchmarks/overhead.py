"""Benchmark: the orchestrator's cost per trial, caviar against plain Ray Tune and Optuna.

The same N trivial trials (``benchmarks.trivial``: 10 reports each, no work), scheduled by ASHA,
through:

- caviar (``run_sweep``, the code behind ``caviar run``), on an already running Ray;
- plain ``ray.tune.Tuner`` with Tune's defaults (a function trainable calling ``tune.report``,
  Tune's JSON/CSV/TensorBoard loggers on, no actor reuse; only ``verbose=0``), same Ray;
- the same Tuner with actor reuse on and its auto loggers off (what caviar configures);
- Optuna in-process (``study.optimize``, SuccessiveHalvingPruner, in-memory storage): the floor.

Per-trial overhead = wall time of the sweep / N. Ray's start-up is outside every measurement.

    python -m benchmarks.overhead            # 100 trials x 10 reports
    python -m benchmarks.overhead --quick    # 10 trials x 10 reports
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.common import (
    PLOTS,
    emit,
    figure,
    fmt,
    ray_session,
    run_caviar,
    save_plot,
    section_parser,
    table,
)
from benchmarks.trivial import trivial_spec

REPORTS = 10


@contextmanager
def env(name: str, value: str) -> Iterator[None]:
    """Set an environment variable for the block (caviar sets Tune's logger switch on import)."""
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


def caviar_sweep(n: int, storage: Path) -> float:
    scheduler = {"name": "asha", "max_t": REPORTS, "grace_period": 1}
    return run_caviar(trivial_spec(f"overhead{n}", n, REPORTS, scheduler, storage))


def tune_sweep(n: int, storage: Path, tuned: bool) -> float:
    """Plain Tune on the same trials: its defaults, or with caviar's two settings."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    from benchmarks.trivial import tune_train

    with env("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1" if tuned else "0"):
        tuner = tune.Tuner(
            tune_train,
            param_space={"x": tune.uniform(0, 1), "reports": REPORTS},
            tune_config=tune.TuneConfig(
                metric="score",
                mode="max",
                num_samples=n,
                scheduler=ASHAScheduler(max_t=REPORTS, grace_period=1),
                reuse_actors=tuned,
            ),
            run_config=tune.RunConfig(
                name="tuned" if tuned else "defaults", storage_path=str(storage), verbose=0
            ),
        )
        start = time.perf_counter()
        tuner.fit()
        return time.perf_counter() - start


def optuna_study(n: int) -> float:
    """The floor: Optuna in this process, no Ray, pruning by successive halving."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: Any) -> float:
        x = trial.suggest_float("x", 0, 1)
        score = 0.0
        for step in range(1, REPORTS + 1):
            score = x * step
            trial.report(score, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return score

    start = time.perf_counter()
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.SuccessiveHalvingPruner(),
    )
    study.optimize(objective, n_trials=n)
    return time.perf_counter() - start


def run(n: int, plot_dir: Path | None = PLOTS) -> tuple[str, dict[str, float]]:
    """Every runner on N trials; a markdown section and the per-trial seconds of each."""
    workdir = Path(tempfile.mkdtemp(prefix="caviar-bench-overhead-"))
    seconds: dict[str, float] = {}
    try:
        with ray_session(num_cpus=None):
            caviar_sweep(4, workdir / "warmup")  # Ray's workers started and caviar imported there
            seconds["caviar (run_sweep, ASHA)"] = caviar_sweep(n, workdir / "caviar")
            print(f"caviar: {seconds['caviar (run_sweep, ASHA)']:.1f} s", flush=True)
            seconds["Ray Tune Tuner, defaults"] = tune_sweep(n, workdir / "tune", tuned=False)
            print(f"tune defaults: {seconds['Ray Tune Tuner, defaults']:.1f} s", flush=True)
            seconds["Ray Tune Tuner, reuse_actors + auto loggers off"] = tune_sweep(
                n, workdir / "tune", tuned=True
            )
        seconds["Optuna in-process (floor)"] = optuna_study(n)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    per_trial = {name: s / n for name, s in seconds.items()}
    plot = plot_bars(n, per_trial, plot_dir) if plot_dir is not None else None
    return section(n, seconds, per_trial, plot), per_trial


def plot_bars(n: int, per_trial: dict[str, float], plot_dir: Path) -> Path:
    """Per-trial overhead of each runner, on a log axis."""
    names = list(per_trial)[::-1]
    values = [per_trial[name] * 1000 for name in names]
    fig, ax = figure(plot_dir, figsize=(8, 3))
    bars = ax.barh(names, values, color=["C2", "C7", "C3", "C0"][-len(names) :])
    ax.bar_label(bars, labels=[f"{v:,.1f} ms" for v in values], padding=3)
    ax.set_xscale("log")
    ax.set_xlim(min(values) / 2, max(values) * 8)
    ax.set_xlabel("orchestration overhead per trial (ms, log scale)")
    ax.set_title(f"{n} trivial trials x {REPORTS} reports, ASHA")
    return save_plot(fig, plot_dir, "overhead.png")


def section(
    n: int, seconds: dict[str, float], per_trial: dict[str, float], plot: Path | None
) -> str:
    caviar = per_trial["caviar (run_sweep, ASHA)"]
    defaults = per_trial["Ray Tune Tuner, defaults"]
    rows = [
        [name, fmt(seconds[name], 2), fmt(per_trial[name] * 1000, 1), fmt(per_trial[name] / caviar)]
        for name in seconds
    ]
    ratio = caviar / defaults
    return "\n".join(
        [
            "## Orchestration overhead (overhead.py)",
            "",
            f"{n} trivial trials x {REPORTS} reports (no work), ASHA (grace_period 1), 1 CPU per "
            "trial, one embedded Ray started (and warmed by a 4-trial caviar sweep) before the clock; Optuna runs in-process without "
            "Ray. Per-trial overhead = sweep wall time / trials.",
            "",
            table(["runner", "wall (s)", "per trial (ms)", "x caviar"], rows),
            "",
            f"**caviar's per-trial overhead is {fmt(ratio, 3)} of plain Tune's defaults "
            f"({fmt(1 / ratio, 1)}x less; target: <= 0.1: "
            f"{'held' if ratio <= 0.1 else 'did NOT hold'}).**",
            "",
            *([f"![per-trial overhead](plots/{plot.name})", ""] if plot is not None else []),
        ]
    )


def main(argv: list[str] | None = None) -> str:
    parser = section_parser(__doc__, "10 trials instead of 100")
    parser.add_argument("--trials", type=int, default=None)
    args = parser.parse_args(argv)
    text, _ = run(args.trials or (10 if args.quick else 100), args.plots)
    return emit(text, args.out)


if __name__ == "__main__":
    main()
