"""Benchmark: how caviar scales, in nodes and in number of trials.

1. Nodes: the same sweep (the digits MLP of time_to_target, random + fifo) on a local Ray cluster
   of 1 node and of 2 nodes (``ray.cluster_utils.Cluster`` on this machine, 1 CPU per node):
   trials per minute.
2. Trials: a trivial trainable (``benchmarks.trivial``, 1 report, no work) with num_samples
   100 -> 1,000 -> 5,000 on an embedded Ray: trials per minute, the orchestrator's cost per trial
   (wall / trials), and the driver's peak resident memory above where it started, per trial.

    python -m benchmarks.scaling            # 12 MLP trials per cluster; 100, 1,000, 5,000 trivial
    python -m benchmarks.scaling --quick    # 4 MLP trials per cluster; 20, 50, 100 trivial
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import (
    PLOTS,
    emit,
    figure,
    fmt,
    ray_session,
    rss_mb,
    run_caviar,
    save_plot,
    section_parser,
    table,
)
from benchmarks.time_to_target import SPACE, digits_table
from benchmarks.trivial import trivial_spec


@dataclass(frozen=True)
class Size:
    mlp_trials: int
    mlp_epochs: int
    counts: tuple[int, ...]
    reports: int


FULL = Size(mlp_trials=12, mlp_epochs=30, counts=(100, 1000, 5000), reports=1)
QUICK = Size(mlp_trials=4, mlp_epochs=2, counts=(20, 50, 100), reports=1)


class PeakMemory:
    """Samples this process's resident memory every 50 ms in a thread; ``peak`` in MiB."""

    def __init__(self) -> None:
        self.start = rss_mb()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def mlp_sweep(name: str, size: Size, data: Path, storage: Path) -> float:
    return run_caviar(
        {
            "name": name,
            "trainable": "mlp",
            "data": {"path": str(data), "target": "label", "seed": 0},
            "metric": "val_accuracy",
            "mode": "max",
            "space": {**SPACE, "epochs": size.mlp_epochs},
            "search": {"algorithm": "random", "num_samples": size.mlp_trials},
            "scheduler": {"name": "fifo"},
            "resources": {"cpu": 1},
            "seed": 0,
            "storage": str(storage),
        }
    )


def nodes(size: Size, workdir: Path) -> list[dict[str, Any]]:
    """The MLP sweep on a 1-node and a 2-node local cluster, 1 CPU each."""
    from ray.cluster_utils import Cluster

    data = digits_table(workdir)
    rows = []
    for count in (1, 2):
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
        try:
            for _ in range(count - 1):
                cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()
            with ray_session(address=cluster.address):
                seconds = mlp_sweep(f"nodes{count}", size, data, workdir / "sweeps")
        finally:
            cluster.shutdown()  # type: ignore[no-untyped-call]
        rows.append({"nodes": count, "seconds": seconds, "per_min": size.mlp_trials / seconds * 60})
        print(f"{count} node(s): {seconds:.1f} s", flush=True)
    return rows


def trivial_sweep(n: int, reports: int, storage: Path) -> float:
    return run_caviar(trivial_spec(f"trivial{n}", n, reports, {"name": "fifo"}, storage))


def trials(size: Size, workdir: Path) -> list[dict[str, Any]]:
    """Trivial sweeps of growing size on one embedded Ray: time and driver memory per trial."""
    rows = []
    with ray_session(num_cpus=None):
        trivial_sweep(10, size.reports, workdir / "warmup")  # workers started, imports done
        fixed = min(trivial_sweep(1, size.reports, workdir / f"one{i}") for i in range(2))
        print(f"a 1-trial sweep: {fixed:.1f} s", flush=True)
        for n in size.counts:
            with PeakMemory() as memory:
                seconds = trivial_sweep(n, size.reports, workdir / "sweeps")
            rows.append(
                {
                    "n": n,
                    "seconds": seconds,
                    "per_min": n / seconds * 60,
                    "ms_per_trial": seconds / n * 1000,
                    "marginal_ms": (seconds - fixed) / (n - 1) * 1000,
                    "fixed_s": fixed,
                    "rss_start": memory.start,
                    "rss_peak": memory.peak,
                    "kib_per_trial": (memory.peak - memory.start) * 1024 / n,
                }
            )
            print(
                f"{n} trivial trials: {seconds:.1f} s, peak +{memory.peak - memory.start:.0f} MiB"
            )
    return rows


def run(size: Size, plot_dir: Path | None = PLOTS) -> tuple[str, dict[str, Any]]:
    workdir = Path(tempfile.mkdtemp(prefix="caviar-bench-scaling-"))
    try:
        node_rows = nodes(size, workdir)
        trial_rows = trials(size, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    plot = plot_trials(trial_rows, plot_dir) if plot_dir is not None else None
    return section(size, node_rows, trial_rows, plot), {"nodes": node_rows, "trials": trial_rows}


def section(
    size: Size, node_rows: list[dict[str, Any]], trial_rows: list[dict[str, Any]], plot: Path | None
) -> str:
    speedup = node_rows[1]["per_min"] / node_rows[0]["per_min"]
    costs = [r["ms_per_trial"] for r in trial_rows]
    spread = max(costs) / min(costs)
    marginal = [r["marginal_ms"] for r in trial_rows]
    marginal_spread = max(marginal) / min(marginal)
    growth = costs[-1] / costs[0]
    marginal_growth = marginal[-1] / marginal[0]
    lines = [
        "## Scaling (scaling.py)",
        "",
        f"Nodes: the digits MLP sweep (random + fifo, {size.mlp_trials} trials x "
        f"{size.mlp_epochs} epochs, 1 CPU per trial) on a local Ray cluster "
        "(`ray.cluster_utils.Cluster`, every node on this machine with num_cpus=1).",
        "",
        table(
            ["nodes", "wall (s)", "trials / min"],
            [[r["nodes"], fmt(r["seconds"], 1), fmt(r["per_min"], 1)] for r in node_rows],
        ),
        "",
        f"2 nodes vs 1: {fmt(speedup, 2)}x the trials per minute (ideal 2x; both nodes share this "
        "machine's cores with Ray's own processes and the driver).",
        "",
        f"Trials: a trivial trainable ({size.reports} report, no work), random + fifo, 1 CPU per "
        "trial, on one embedded Ray (started, and its workers warmed by a 10-trial sweep, before "
        "the clock). Memory: the driver's peak resident set during the sweep above its value at "
        "the start of the sweep. 'marginal per trial' takes out what a sweep costs whatever its size "
        f"(Tuner set-up, writing the tables at the end): (wall - wall of a 1-trial sweep) / "
        f"(num_samples - 1); a 1-trial sweep took {fmt(trial_rows[0]['fixed_s'], 1)} s.",
        "",
        table(
            [
                "num_samples",
                "wall (s)",
                "trials / min",
                "wall / trial (ms)",
                "marginal per trial (ms)",
                "driver RSS at start (MiB)",
                "driver RSS peak (MiB)",
                "growth per trial (KiB)",
            ],
            [
                [
                    f"{r['n']:,}",
                    fmt(r["seconds"], 1),
                    fmt(r["per_min"], 0),
                    fmt(r["ms_per_trial"], 1),
                    fmt(r["marginal_ms"], 1),
                    fmt(r["rss_start"], 0),
                    fmt(r["rss_peak"], 0),
                    fmt(r["kib_per_trial"], 1),
                ]
                for r in trial_rows
            ],
        ),
        "",
        f"Per-trial cost at {trial_rows[-1]['n']:,} trials / at {trial_rows[0]['n']:,}: "
        f"wall / trial {fmt(growth, 2)}, marginal {fmt(marginal_growth, 2)} (claim: it does not "
        f"grow by more than 2x: {'held' if marginal_growth <= 2 else 'did NOT hold'}; largest / "
        f"smallest over all sizes: {fmt(spread, 2)} and {fmt(marginal_spread, 2)}). "
        "Driver memory grows by "
        f"{fmt(trial_rows[-1]['kib_per_trial'], 1)} KiB per trial at {trial_rows[-1]['n']:,} "
        "trials.",
        "",
    ]
    if plot is not None:
        lines += [f"![trials per minute vs num_samples](plots/{plot.name})", ""]
    return "\n".join(lines)


def plot_trials(rows: list[dict[str, Any]], plot_dir: Path) -> Path:
    ns = [r["n"] for r in rows]
    fig, (left, right) = figure(plot_dir, 1, 2, figsize=(10, 4))
    left.plot(ns, [r["ms_per_trial"] for r in rows], marker="o", label="wall / trial")
    left.plot(ns, [r["marginal_ms"] for r in rows], marker="s", label="marginal per trial")
    left.legend()
    left.set_xscale("log")
    left.set_ylim(0, max(max(r["ms_per_trial"], r["marginal_ms"]) for r in rows) * 1.3)
    left.set_xlabel("num_samples")
    left.set_ylabel("orchestration cost per trial (ms)")
    left.set_title("cost per trial (flat = scales)")
    right.plot(ns, [r["rss_peak"] - r["rss_start"] for r in rows], marker="o", color="C1")
    right.set_xscale("log")
    right.set_xlabel("num_samples")
    right.set_ylabel("driver peak RSS growth (MiB)")
    right.set_title("driver memory")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    return save_plot(fig, plot_dir, "scaling.png")


def main(argv: list[str] | None = None) -> str:
    args = section_parser(__doc__, "a smoke-test size").parse_args(argv)
    text, _ = run(QUICK if args.quick else FULL, args.plots)
    return emit(text, args.out)


if __name__ == "__main__":
    main()
