"""Benchmark: caviar's Parquet results store against Ray Tune's default per-trial loggers.

Feeds the same synthetic results (N trials x R reports, 3 hyperparameters, 4 metrics) through
``ParquetResultsCallback`` and through Ray Tune's ``JsonLoggerCallback``, ``CSVLoggerCallback`` and
``TBXLoggerCallback``, measuring wall time, rows/s and the files left behind. Optionally also runs a
real sweep of a trivial trainable through Ray Tune and counts its Parquet files.

    python -m benchmarks.results_store            # 1,000 trials x 20 reports, plus a real sweep of 100
    python -m benchmarks.results_store --quick    # 200 x 20, small real sweep

Prints a markdown table.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from ray.tune.experiment import Trial

from benchmarks.common import emit, section_parser
from benchmarks.trivial import trivial_spec
from caviar.results.store import SweepStore
from caviar.results.writer import ResultsWriter
from caviar.search_spaces import Space
from caviar.tune.callbacks_results import ParquetResultsCallback

SPACE = {"lr": "loguniform(1e-4, 1)", "units": "integer(8, 64)", "opt": 'choice("sgd", "adam")'}
ROOT = Path(__file__).resolve().parent.parent


class _LocalTrial(Trial):  # type: ignore[misc]
    """A Tune Trial whose log directory is a plain local folder (no Ray session needed)."""

    log_root = Path(".")

    @property
    def local_path(self) -> str:
        return str(self.log_root / self.trial_id)

    def init_local_path(self) -> None:
        Path(self.local_path).mkdir(parents=True, exist_ok=True)


def make_trials(n: int, log_root: Path) -> list[Trial]:
    """Trials whose log folders exist already (Tune's loggers expect that; not timed)."""
    _LocalTrial.log_root = log_root
    for i in range(n):
        (log_root / f"t{i:06d}").mkdir(parents=True, exist_ok=True)
    return [
        _LocalTrial(
            "bench",
            config={"lr": 10 ** -(1 + i % 3), "units": 8 + i % 50, "opt": ("sgd", "adam")[i % 2]},
            trial_id=f"t{i:06d}",
            stub=True,
        )
        for i in range(n)
    ]


def results(trials: list[Trial], reports: int) -> list[tuple[Trial, dict[str, Any]]]:
    """What Tune hands its callbacks, interleaved across trials as in a real sweep."""
    out = []
    start = time.time()
    for step in range(1, reports + 1):
        for trial in trials:
            out.append(
                (
                    trial,
                    {
                        "train_loss": 1.0 / step,
                        "val_loss": 1.2 / step,
                        "val_accuracy": 1 - 1.0 / (step + 1),
                        "lr": trial.config["lr"],
                        "training_iteration": step,
                        "time_total_s": 0.01 * step,
                        "time_this_iter_s": 0.01,
                        "timestamp": int(start) + step,
                        "done": False,
                        "trial_id": trial.trial_id,
                        "config": trial.config,
                    },
                )
            )
    return out


def count_files(path: Path) -> int:
    return sum(1 for p in path.rglob("*") if p.is_file())


def drive(callback: Any, trials: list[Trial], feed: list[tuple[Trial, dict[str, Any]]]) -> None:
    callback.setup()
    for trial in trials:
        callback.on_trial_start(0, trials, trial)
    for trial, result in feed:
        callback.on_trial_result(0, trials, trial, result)
    for trial in trials:
        trial.status = Trial.TERMINATED
        callback.on_trial_complete(0, trials, trial)
    callback.on_experiment_end(trials)


def bench_parquet(workdir: Path, n: int, reports: int) -> dict[str, Any]:
    sweep = workdir / "parquet" / "bench"
    store = SweepStore.at(str(sweep))
    store.write_text("sweep.yaml", "name: bench\n")
    callback = ParquetResultsCallback(
        ResultsWriter(store, Space.from_dict(SPACE), "val_loss", "min", "name: bench\n", "bench")
    )
    trials = make_trials(n, workdir / "unused")
    feed = results(trials, reports)
    flush_time = 0.0
    original: Callable[[], None] = callback.writer.flush

    def timed_flush() -> None:
        nonlocal flush_time
        start = time.perf_counter()
        original()
        flush_time += time.perf_counter() - start

    callback.writer.flush = timed_flush  # type: ignore[method-assign]
    start = time.perf_counter()
    drive(callback, trials, feed)
    total = time.perf_counter() - start
    return {
        "writer": "caviar ParquetResultsCallback (end to end, incl. compaction)",
        "seconds": total,
        "rows_per_s": len(feed) / total,
        "flush_rows_per_s": len(feed) / flush_time if flush_time else float("nan"),
        "files": count_files(sweep),
    }


def bench_tune_logger(workdir: Path, name: str, n: int, reports: int) -> dict[str, Any]:
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback, TBXLoggerCallback

    factory: Callable[[], Any] = {
        "JsonLoggerCallback": JsonLoggerCallback,
        "CSVLoggerCallback": CSVLoggerCallback,
        "TBXLoggerCallback": TBXLoggerCallback,
    }[name]
    logdir = workdir / name
    trials = make_trials(n, logdir)
    feed = results(trials, reports)
    start = time.perf_counter()
    drive(factory(), trials, feed)
    total = time.perf_counter() - start
    return {
        "writer": f"Ray Tune {name}",
        "seconds": total,
        "rows_per_s": len(feed) / total,
        "flush_rows_per_s": float("nan"),
        "files": count_files(logdir),
    }


def real_sweep(workdir: Path, n: int, reports: int) -> dict[str, Any]:
    """A real `caviar run` of a trivial trainable through Ray Tune: time and Parquet files."""
    spec = trivial_spec("real", n, reports, {"name": "fifo"}, workdir / "sweeps")
    path = workdir / "real.yaml"
    path.write_text(yaml.safe_dump(spec))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "caviar.cli", "run", str(path)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    total = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"the real sweep failed:\n{done.stderr[-2000:]}")
    sweep = workdir / "sweeps" / "real"
    parquet = [p for p in sweep.rglob("*.parquet") if "tune" not in p.parts]
    return {
        "writer": f"real sweep: `caviar run`, {n} trials x {reports} reports (Ray Tune)",
        "seconds": total,
        "rows_per_s": n * reports / total,
        "flush_rows_per_s": float("nan"),
        "files": len(parquet) + 1,  # Parquet files + sweep.yaml (Tune's own state not counted)
    }


def table(rows: list[dict[str, Any]], n: int, reports: int) -> str:
    lines = [
        "## Results store (results_store.py)",
        "",
        f"The same {n:,} trials x {reports} reports = {n * reports:,} results (3 hyperparameters, "
        "4 metrics) fed through caviar's Parquet callback and through each of Ray Tune's default "
        "per-trial loggers, on the driver, without Ray; then a real `caviar run` of a trivial "
        "trainable (including Ray's start-up) and the Parquet files it left.",
        "",
        "| writer | time (s) | rows/s | flush path rows/s | files |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        flush = row["flush_rows_per_s"]
        lines.append(
            f"| {row['writer']} | {row['seconds']:.2f} | {row['rows_per_s']:,.0f} | "
            f"{'-' if flush != flush else f'{flush:,.0f}'} | {row['files']:,} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = section_parser(__doc__, "200 trials instead of 1,000", plots=False)
    parser.add_argument("--reports", type=int, default=20)
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--sweep-trials", type=int, default=None, help="0 skips the real sweep")
    args = parser.parse_args(argv)
    n = args.trials or (200 if args.quick else 1000)
    sweep_trials = (
        args.sweep_trials if args.sweep_trials is not None else (20 if args.quick else 100)
    )
    workdir = Path(tempfile.mkdtemp(prefix="caviar-bench-"))
    try:
        rows = [bench_parquet(workdir, n, args.reports)]
        for name in ("JsonLoggerCallback", "CSVLoggerCallback", "TBXLoggerCallback"):
            rows.append(bench_tune_logger(workdir, name, n, args.reports))
        if sweep_trials:
            rows.append(real_sweep(workdir, sweep_trials, args.reports))
        text = table(rows, n, args.reports) + "\n"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return emit(text, args.out)


if __name__ == "__main__":
    main()
