"""Fused vs unfused trials: trials per hour for a sweep of small MLPs, at equal final quality.

The same sampled configs (2 hidden layers x 64 units, Adam, log-uniform lr and weight decay, dropout
0 or sampled) train once each as an unfused trial (``mlp.train_mlp``) and once as members of
bundles of K (``bundle.train_bundle``), twice over:

* the training loop alone: one torch thread, in this process, no Ray, so the unfused side pays
  none of its per-trial process and scheduling costs;
* end to end: the same sweep through ``run_sweep`` with and without ``fuse:``, on the embedded Ray.

Quality: the final val metrics of both runs are compared config by config (fused members train
exactly as alone, so they agree to float rounding) and as distributions.

Run: ``python -m benchmarks.fused [--quick] [--trials N] [--fuse K|auto] [--device cpu|cuda]``.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from benchmarks.common import emit, section_parser
from caviar.search_spaces import Space
from caviar.trainables.bundle import MEMBERS_KEY, STOP_KEY, member_metrics, train_bundle
from caviar.trainables.data import DataSpec, load_dataset
from caviar.trainables.mlp import train_mlp
from caviar.tune.context import TrialContext

SPACE = {
    "lr": "loguniform(1e-4, 1e-1)",
    "dropout": "uniform(0, 0.3)",
    "weight_decay": "loguniform(1e-6, 1e-3)",
    "layers": 2,
    "hidden_units": 64,
    "batch_size": 64,
}


class _MemoryContext(TrialContext):
    """Reports kept in memory; checkpoints skipped (neither side checkpoints in this benchmark)."""

    def __init__(self, data: DataSpec, device: torch.device) -> None:
        super().__init__(data)
        self.reports: list[dict[str, Any]] = []
        self._device = device

    @property
    def device(self) -> torch.device:
        return self._device

    def _send(self, metrics: dict[str, Any], state: Any) -> None:
        self.reports.append(metrics)


@dataclass(frozen=True)
class Outcome:
    trials: int
    seconds: float
    final: dict[int, dict[str, float]]  # config index -> last val_loss / val_accuracy

    @property
    def per_hour(self) -> float:
        return self.trials / self.seconds * 3600


def sample_configs(
    n: int, epochs: int, seed: int = 0, dropout: bool = True
) -> list[dict[str, Any]]:
    space = Space.from_dict({**SPACE, "epochs": epochs, **({} if dropout else {"dropout": 0.0})})
    configs = []
    for i in range(n):
        config = space.sample_at({}, np.random.default_rng([seed, i]))
        configs.append({**config, "seed": 1000 + i})
    return configs


def run_unfused(configs: list[dict[str, Any]], data: DataSpec, device: torch.device) -> Outcome:
    final = {}
    started = time.perf_counter()
    for index, config in enumerate(configs):
        ctx = _MemoryContext(data, device)
        train_mlp(config, ctx)
        final[index] = {k: ctx.reports[-1][k] for k in ("val_loss", "val_accuracy")}
    return Outcome(len(configs), time.perf_counter() - started, final)


def run_fused(
    configs: list[dict[str, Any]], data: DataSpec, device: torch.device, fuse: int
) -> Outcome:
    final: dict[int, dict[str, float]] = {}
    started = time.perf_counter()
    for first in range(0, len(configs), fuse):
        members = configs[first : first + fuse]
        ctx = _MemoryContext(data, device)
        train_bundle({MEMBERS_KEY: members, STOP_KEY: {}}, ctx)
        for report in ctx.reports:
            for k, metrics in member_metrics(report).items():
                final[first + k] = {m: metrics[m] for m in ("val_loss", "val_accuracy")}
    return Outcome(len(configs), time.perf_counter() - started, final)


def run_sweeps(
    n: int, epochs: int, data: DataSpec, fuse: int | str, dropout: bool = True
) -> tuple[Outcome, Outcome]:
    """The same random sweep through ``run_sweep`` (embedded Ray, Tune), fused and unfused.

    Trials per hour here count everything a user waits for: Ray Tune's scheduling, a trial's
    start, the results callback and Parquet, from ``run_sweep`` to its return.
    """
    import tempfile

    import caviar
    from caviar.cluster.connect import connected
    from caviar.spec.parse import parse_spec
    from caviar.tune.run import run_sweep

    outcomes = []
    with tempfile.TemporaryDirectory() as storage, connected(None):
        for name, extra in (("fused", {"fuse": fuse}), ("unfused", {})):
            spec = parse_spec(
                {
                    "name": name,
                    "data": {k: getattr(data, k) for k in ("n_samples", "n_features", "n_classes")},
                    "metric": "val_loss",
                    "space": {**SPACE, "epochs": epochs, **({} if dropout else {"dropout": 0})},
                    "search": {"num_samples": n},
                    "storage": storage,
                    **extra,
                }
            )
            started = time.perf_counter()
            result = run_sweep(spec, show_progress=False)
            seconds = time.perf_counter() - started
            trials = caviar.read_trials(result.sweep_uri).set_index("seed").sort_index()
            final = {
                i: {"val_loss": float(loss), "val_accuracy": float(accuracy)}
                for i, (loss, accuracy) in enumerate(
                    zip(trials["val_loss"], trials["val_accuracy"], strict=True)
                )
            }
            outcomes.append(Outcome(len(trials), seconds, final))
    return outcomes[0], outcomes[1]


def whole_process(n: int, epochs: int, data: DataSpec, fuse: int | str) -> tuple[float, float]:
    """The same sweep as ``caviar run SPEC`` processes, launch to exit: (fused s, unfused s).

    What a user waits for, start-up and shutdown included: the speed-up a person sees, beside
    the marginal one of the training loop alone.
    """
    import tempfile
    from pathlib import Path

    from benchmarks.common import caviar_run_seconds

    seconds = []
    with tempfile.TemporaryDirectory(prefix="caviar-bench-fused-") as tmp:
        for name, extra in (("fused", {"fuse": fuse}), ("unfused", {})):
            spec = {
                "name": f"whole-{name}",
                "data": {k: getattr(data, k) for k in ("n_samples", "n_features", "n_classes")},
                "metric": "val_loss",
                "space": {**SPACE, "epochs": epochs},
                "search": {"num_samples": n},
                "storage": tmp,
                **extra,
            }
            seconds.append(caviar_run_seconds(spec, Path(tmp)))
    return seconds[0], seconds[1]


def _gap(a: Outcome, b: Outcome) -> float:
    return max(abs(a.final[i]["val_loss"] - b.final[i]["val_loss"]) for i in a.final)


def _median_accuracy(outcome: Outcome) -> float:
    return float(np.median([f["val_accuracy"] for f in outcome.final.values()]))


def _row(name: str, fused: Outcome, unfused: Outcome) -> str:
    """One table row: both runs' trials per hour, the speed-up, and how equal their quality is."""
    return (
        f"| {name} | {unfused.trials} | {unfused.seconds:.1f} | {fused.seconds:.1f} | "
        f"{unfused.per_hour:,.0f} | {fused.per_hour:,.0f} | "
        f"**{fused.per_hour / unfused.per_hour:.1f}x** | "
        f"{_median_accuracy(unfused):.4f} / {_median_accuracy(fused):.4f} | "
        f"{_gap(fused, unfused):.1e} |"
    )


HEADER = [
    "| sweep | trials | unfused s | fused s | unfused trials/h | fused trials/h | speed-up | "
    "median val_accuracy (unfused / fused) | largest val_loss gap |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
]
VARIANTS = ((False, "dropout 0"), (True, "dropout ~ uniform(0, 0.3)"))


def benchmark(
    quick: bool = False,
    trials: int | None = None,
    fuse: int | str = "auto",
    device: str = "cpu",
    sweep: bool = True,
) -> str:
    """Run the comparison and return its markdown section (heading, tables, notes)."""
    from caviar.tune.fusion import AUTO, auto_fuse

    torch.set_num_threads(1)
    n = trials or (32 if quick else 128)
    n_sweep = trials or (32 if quick else 512)  # long enough to amortize a sweep's ~3 s start
    epochs = 5 if quick else 10
    rows = 2000 if quick else 4000
    data = DataSpec(n_samples=rows, n_features=20, n_classes=4, seed=0)
    target = torch.device(device)
    k = auto_fuse(SPACE, load_dataset(data), target.type == "cuda") if fuse == AUTO else int(fuse)
    run_fused(sample_configs(2, 1), data, target, 2)  # warm up torch's kernels and imports
    run_unfused(sample_configs(1, 1), data, target)
    loop_rows, sweep_rows = [], []
    ratios: dict[str, float] = {}
    for dropout, name in VARIANTS:
        configs = sample_configs(n, epochs, dropout=dropout)
        fused = run_fused(configs, data, target, k)
        unfused = run_unfused(configs, data, target)
        loop_rows.append(_row(name, fused, unfused))
        ratios["the training loop alone"] = unfused.seconds / fused.seconds
        if sweep:
            swept = run_sweeps(n_sweep, epochs, data, fuse, dropout)
            sweep_rows.append(_row(name, *swept))
            ratios["run_sweep on a warm Ray"] = swept[1].seconds / swept[0].seconds
    n_whole = 32 if quick else 256
    whole = whole_process(n_whole, epochs, data, fuse) if sweep else None
    where = (
        torch.cuda.get_device_name(0) if target.type == "cuda" else platform.processor() or "cpu"
    )
    lines = [
        f"## Fused trials (`fuse: {fuse}`, K={k})",
        "",
        "Sampled configs of a 2 x 64 MLP (Adam; lr, weight decay and, in the second row, dropout "
        f"sampled), {epochs} epochs on {rows} rows x 20 features (80/20 split), batch 64; "
        f"device: {device} ({where}). Equal quality: the same configs train fused and unfused, "
        "and each config's final val_loss is compared between the two runs (fused members train "
        "exactly as alone).",
        "",
        "The training loop alone (no Ray, 1 torch thread, in one process):",
        "",
        *HEADER,
        *loop_rows,
    ]
    if sweep:
        cpus = os.cpu_count()
        lines += [
            "",
            f"End to end (`caviar` `run_sweep`, embedded Ray on {cpus} CPUs, one trial or bundle "
            f"per CPU, Parquet results; `fuse: {fuse}`):",
            "",
            *HEADER,
            *sweep_rows,
        ]
    if whole is not None:
        fused_s, unfused_s = whole
        beside = ", ".join(f"{where} {ratio:.1f}x" for where, ratio in ratios.items())
        lines += [
            "",
            f"Whole process (`caviar run SPEC`, launch to exit, {n_whole} trials, dropout "
            f"sampled): unfused {unfused_s:.1f} s, fused {fused_s:.1f} s: "
            f"**{unfused_s / fused_s:.1f}x** whole process, beside {beside} (dropout sampled). "
            "The gap between them is start-up and shutdown, which fusion does not shorten "
            "(see startup.py).",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = section_parser(__doc__, "a small sweep (seconds)", plots=False)
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--fuse", default="auto", help="K, or auto (the default)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-sweep", action="store_true", help="the training loop only")
    args = parser.parse_args()
    fuse = args.fuse if args.fuse == "auto" else int(args.fuse)
    emit(benchmark(args.quick, args.trials, fuse, args.device, not args.no_sweep), args.out)


if __name__ == "__main__":
    main()
