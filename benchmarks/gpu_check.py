"""GPU check (``make gpu-check``): caviar's GPU paths on a machine with CUDA, in under 10 minutes.

1. The built-in mlp on CUDA with ``amp`` off and on (and the built-in cnn, where this caviar has
   one): each trial reports the device it trained on, and its epochs' time.
2. Four trials at ``resources: {gpu: 0.25}`` at once on one GPU: nvidia-smi, polled while they run,
   must show four trial processes on the GPU at the same time.
3. Fused vs unfused throughput on CUDA: the training loop of benchmarks/fused.py on ``cuda``.

Without a CUDA device it prints one line saying so and exits 0. It prints a RESULTS.md section.

    python -m benchmarks.gpu_check [--out section.md]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.common import emit, fmt, section_parser, table


def train(config: dict[str, Any], ctx: Any) -> None:
    """The built-in mlp (or cnn, ``config["net"]``), each report naming its device and memory."""
    import torch

    net = config.pop("net", "mlp")
    if net == "cnn":
        from caviar.trainables.cnn import train_cnn as run  # type: ignore[import-not-found]
    else:
        from caviar.trainables.mlp import train_mlp as run

    class Probe:
        def report(self, checkpoint: Any = None, **metrics: Any) -> None:
            device = ctx.device
            memory = torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else 0.0
            ctx.report(**metrics, device=str(device), cuda_mib=memory, checkpoint=checkpoint)

        def __getattr__(self, name: str) -> Any:
            return getattr(ctx, name)

    run(config, Probe())


def _sweep(spec: dict[str, Any]) -> Any:
    """Run a spec the way ``caviar run`` does (embedded Ray); its trials and curves."""
    import caviar
    from benchmarks.common import ray_session, run_caviar

    with ray_session():
        seconds = run_caviar(spec)
    sweep = f"{spec['storage']}/{spec['name']}"
    return caviar.read_trials(sweep), caviar.read_curves(sweep), seconds


def amp_check(storage: Path) -> tuple[list[list[str]], list[str]]:
    """mlp (and cnn) on CUDA, amp off and on."""
    nets: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("mlp", {"synthetic": "classification", "n_samples": 20000, "n_features": 64}, {}),
    ]
    notes = []
    try:
        import caviar.trainables.cnn  # type: ignore[import-not-found]  # noqa: F401

        nets.append(("cnn", {"dataset": "digits", "shape": [1, 8, 8]}, {}))
    except ImportError:
        notes.append("cnn: skipped, this caviar has no built-in cnn (caviar.trainables.cnn)")
    rows = []
    for net, data, extra in nets:
        spec = {
            "name": f"gpu-{net}",
            "trainable": "benchmarks.gpu_check:train",
            "data": data,
            "metric": "val_accuracy",
            "mode": "max",
            "space": {
                "net": net,
                "amp": "choice(False, True)",
                "epochs": 5,
                "batch_size": 256,
                **extra,
            },
            "search": {"algorithm": "grid"},
            "resources": {"cpu": 1, "gpu": 1},
            "storage": str(storage),
        }
        trials, curves, _ = _sweep(spec)
        for amp, group in curves.merge(trials[["trial_id", "amp"]], on="trial_id").groupby("amp"):
            rows.append(
                [
                    net,
                    "on" if amp else "off",
                    ", ".join(sorted(set(group["device"]))),
                    fmt(float(group["epoch_time_s"].median()), 3),
                    fmt(float(group["val_accuracy"].max()), 4),
                    fmt(float(group["cuda_mib"].max()), 0),
                ]
            )
            if not all(d.startswith("cuda") for d in group["device"]):
                notes.append(f"FAILED: {net} with amp {amp} did not train on CUDA")
    return rows, notes


def _gpu_processes() -> set[str]:
    done = subprocess.run(
        ["nvidia-smi", "--query-compute-apps=pid", "--format=csv,noheader"],
        capture_output=True,
        text=True,
    )
    return {line.strip() for line in done.stdout.splitlines() if line.strip()}


def sharing_check(storage: Path) -> tuple[int, float, list[str]]:
    """Four trials at gpu: 0.25; the most trial processes nvidia-smi saw on the GPU at once."""
    if shutil.which("nvidia-smi") is None:
        return 0, 0.0, ["FAILED: nvidia-smi not found: cannot count the GPU's processes"]
    before = _gpu_processes()
    seen = 0
    stop = threading.Event()

    def poll() -> None:
        nonlocal seen
        while not stop.is_set():
            seen = max(seen, len(_gpu_processes() - before))
            time.sleep(0.5)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    spec = {
        "name": "gpu-quarter",
        "trainable": "benchmarks.gpu_check:train",
        "data": {"synthetic": "classification", "n_samples": 20000, "n_features": 64},
        "metric": "val_accuracy",
        "mode": "max",
        "space": {"lr": "loguniform(1e-4, 1e-2)", "epochs": 20, "batch_size": 64},
        "search": {"algorithm": "random", "num_samples": 4},
        "resources": {"cpu": 1, "gpu": 0.25},
        "storage": str(storage),
    }
    try:
        _, _, seconds = _sweep(spec)
    finally:
        stop.set()
        watcher.join()
    notes = [] if seen >= 4 else [f"FAILED: at most {seen} trial processes on the GPU at once"]
    return seen, seconds, notes


def main(argv: list[str] | None = None) -> int:
    args = section_parser(
        __doc__, "(no effect: the check is already short)", plots=False
    ).parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("gpu-check: skipped: no CUDA device (torch.cuda.is_available() is False)")
        return 0
    from benchmarks.fused import benchmark as fused_benchmark

    started = time.perf_counter()
    name = torch.cuda.get_device_name(0)
    with tempfile.TemporaryDirectory(prefix="caviar-gpu-check-") as tmp:
        amp_rows, notes = amp_check(Path(tmp))
        seen, seconds, more = sharing_check(Path(tmp))
    notes += more
    fused = fused_benchmark(quick=True, trials=64, device="cuda", sweep=False)
    lines = [
        f"## GPU check (gpu_check.py) on {name}, torch {torch.__version__}",
        "",
        table(
            ["net", "amp", "device", "epoch s (median)", "best val_accuracy", "peak MiB"], amp_rows
        ),
        "",
        f"4 trials at `gpu: 0.25`: at most {seen} trial processes on the GPU at once "
        f"(nvidia-smi); the sweep took {seconds:.1f} s.",
        "",
        fused.replace("## Fused trials", "### Fused trials on CUDA", 1),
        *[f"- {note}" for note in notes],
        f"(gpu-check took {time.perf_counter() - started:.0f} s)",
    ]
    emit("\n".join(lines) + "\n", args.out)
    return 1 if any(n.startswith("FAILED") for n in notes) else 0


if __name__ == "__main__":
    sys.exit(main())
