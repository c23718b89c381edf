"""Benchmark: a TPE sweep warm-started from an earlier sweep against a cold TPE sweep.

On scikit-learn's shipped digits (an MLP, the space of time_to_target.py), per seed: an earlier TPE
sweep of 32 trials, then two new TPE sweeps of the same number of new trials, one started cold and
one with ``--warm-start`` from the earlier sweep (TPE's study told its 32 finished trials). Both
new sweeps use ``n_startup_trials: 4``, so the cold one models its own results too. The measure is
the best ``val_loss`` among the new trials only (the earlier trials do not count), mean and spread
over the seeds, and in how many seeds the warm start came out ahead.

    python -m benchmarks.warm_start            # 5 seeds: 32 earlier trials, 8 new, 6 epochs
    python -m benchmarks.warm_start --quick    # 2 seeds: 8 earlier trials, 4 new, 2 epochs
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import emit, fmt, ray_session, section_parser, table
from benchmarks.time_to_target import SPACE, digits_table


@dataclass(frozen=True)
class Size:
    seeds: int
    earlier: int
    new: int
    epochs: int


FULL = Size(seeds=5, earlier=32, new=8, epochs=6)
QUICK = Size(seeds=2, earlier=8, new=4, epochs=2)


def spec_for(
    name: str, seed: int, trials: int, size: Size, data: Path, storage: Path
) -> dict[str, Any]:
    return {
        "name": name,
        "trainable": "mlp",
        "data": {"path": str(data), "target": "label", "seed": 0},
        "metric": "val_loss",
        "mode": "min",
        "space": {**SPACE, "epochs": size.epochs, "checkpoint_every": size.epochs},
        "search": {"algorithm": "tpe", "num_samples": trials, "n_startup_trials": 4},
        "scheduler": {"name": "fifo"},
        "resources": {"cpu": 1},
        "max_concurrent": 2,  # TPE learns from finished trials
        "seed": seed,
        "storage": str(storage),
    }


def best_new(sweep: str) -> float:
    import caviar

    return float(caviar.read_trials(sweep)["best_val_loss"].min())


def run(size: Size) -> tuple[str, dict[str, list[float]]]:
    from caviar.search.warm_start import load_warm_start
    from caviar.spec.parse import parse_spec
    from caviar.tune.run import run_sweep

    values: dict[str, list[float]] = {"cold": [], "warm": []}
    summaries: list[str] = []
    with tempfile.TemporaryDirectory(prefix="caviar-warm-") as tmp, ray_session():
        workdir = Path(tmp)
        data = digits_table(workdir)
        storage = workdir / "sweeps"
        for seed in range(size.seeds):
            earlier = spec_for(f"earlier-s{seed}", 1000 + seed, size.earlier, size, data, storage)
            run_sweep(parse_spec(earlier), show_progress=False)
            old = str(storage / f"earlier-s{seed}")
            cold = parse_spec(spec_for(f"cold-s{seed}", seed, size.new, size, data, storage))
            run_sweep(cold, show_progress=False)
            values["cold"].append(best_new(cold.sweep_uri))
            warm_spec = parse_spec(spec_for(f"warm-s{seed}", seed, size.new, size, data, storage))
            warm = load_warm_start(old, warm_spec)
            summaries.append(warm.summary.replace(f"{storage}/", ""))
            run_sweep(warm_spec, show_progress=False, warm=warm)
            values["warm"].append(best_new(warm_spec.sweep_uri))
            print(
                f"seed {seed}: cold {values['cold'][-1]:.4f}, warm {values['warm'][-1]:.4f}",
                flush=True,
            )
    return section(size, values, summaries[0]), values


def section(size: Size, values: dict[str, list[float]], summary: str) -> str:
    rows = []
    for label, key in (("cold TPE", "cold"), ("warm-started TPE", "warm")):
        v = values[key]
        spread = statistics.stdev(v) if len(v) > 1 else float("nan")
        rows.append(
            [
                label,
                fmt(statistics.mean(v), 4),
                fmt(spread, 4),
                fmt(min(v), 4),
                fmt(max(v), 4),
                " ".join(f"{x:.4f}" for x in v),
            ]
        )
    wins = sum(w < c for w, c in zip(values["warm"], values["cold"], strict=True))
    ties = sum(w == c for w, c in zip(values["warm"], values["cold"], strict=True))
    diff = [c - w for w, c in zip(values["warm"], values["cold"], strict=True)]
    lines = [
        "## Warm start (warm_start.py)",
        "",
        f"digits MLP, {size.epochs} epochs a trial. Per seed: an earlier TPE sweep of "
        f"{size.earlier} trials, then {size.new} new trials of TPE started cold and "
        f"{size.new} started warm from the earlier sweep (n_startup_trials 4 for both, 2 at a "
        f"time). Best val_loss among the new trials only, over {size.seeds} seeds (lower is "
        "better):",
        "",
        table(["new sweep", "mean", "std", "min", "max", "per seed"], rows, align="lrrrrl"),
        "",
        f"The warm start came out ahead in {wins} of {size.seeds} seeds"
        + (f" ({ties} ties)" if ties else "")
        + f"; mean gain {statistics.mean(diff):+.4f} val_loss (cold minus warm). "
        f"What was carried, first seed: `{summary.removeprefix('caviar: ')}`.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    args = section_parser(__doc__, "a smoke-test size", plots=False).parse_args(argv)
    started = time.perf_counter()
    text, _ = run(QUICK if args.quick else FULL)
    emit(text, args.out)
    print(f"(warm_start took {time.perf_counter() - started:.0f} s)")
    return text


if __name__ == "__main__":
    main()
