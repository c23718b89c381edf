"""Benchmark: how long a 2-trial sweep takes, whole process, and where the time goes.

A user iterating on a spec pays ``caviar run``'s start-up on every run. This runs a tiny spec (the
built-in mlp, 2 trials x 2 epochs of 200 synthetic rows) twice:

1. plain ``caviar run SPEC``, timed from launch to exit: the figure a user sees; beside it the CPU
   seconds of the whole process tree (the driver, Ray's processes and the trial workers, collected
   as their subreaper), which a loaded machine changes much less than the wall seconds, and when
   the last process of that tree ended;
2. the same command inside an instrumented driver (``--child``): the CLI's own ``main``, with
   timestamps around the calls it makes (spec load and checks, ``ray.init``, building the Tuner,
   ``Tuner.fit``, the summary, ``ray.shutdown``), a thread that notes when the first Parquet part
   appears under ``curves/``, and a trainable that reports, from the Ray worker, when its process was
   created, when it imported its module and when its first trial started.

Then ``python -X importtime -c "import caviar.cli"`` says which packages the import time goes to,
and which caviar module pulls each heavy one in.

    python -m benchmarks.startup [--quick] [--repeat N]
"""

from __future__ import annotations

import time

CHILD_STARTED = time.time()  # the first thing the instrumented driver does

import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks.common import ROOT, caviar_command, emit, fmt, section_parser, table  # noqa: E402
from benchmarks.startup_probe import PHASES, breakdown, cpu_rows, import_report  # noqa: E402

TARGET_S = 8.0


def tiny_spec(storage: Path, trainable: str) -> dict[str, Any]:
    return {
        "name": "startup",
        "trainable": trainable,
        "data": {"synthetic": "classification", "n_samples": 200, "n_features": 8},
        "metric": "val_loss",
        "mode": "min",
        "space": {"lr": "loguniform(1e-3, 1e-1)", "epochs": 2, "hidden_units": 16},
        "search": {"algorithm": "random", "num_samples": 2},
        "storage": str(storage),
    }


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in [str(ROOT), os.environ.get("PYTHONPATH", "")] if p)
    return {**os.environ, "PYTHONPATH": path}


@dataclass(frozen=True)
class Run:
    """One plain ``caviar run``: launch to exit, launch to the last process of its tree ending,
    and the CPU seconds of that tree."""

    wall_s: float
    tree_s: float
    cpu_s: float


def whole_process(work: Path) -> Run:
    """``caviar run SPEC`` from launch to exit, as a user runs it, and its tree's CPU seconds.

    This process becomes the subreaper of what the command starts (Linux), so that Ray's
    processes, orphaned when the driver exits, are waited for here and their CPU seconds counted.
    """
    import resource

    import yaml

    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    path = work / "plain.yaml"
    path.write_text(yaml.safe_dump(tiny_spec(work / f"plain-{time.time_ns()}", "mlp")))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([*caviar_command(), "run", str(path)], cwd=ROOT, capture_output=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"caviar run failed: {done.stderr.decode()[-800:]}")
    with contextlib.suppress(ChildProcessError):
        while True:  # every orphan of the tree, until none is left
            os.waitpid(-1, 0)
    tree = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall, tree, cpu)


def instrumented(work: Path) -> dict[str, Any]:
    """The same sweep through the instrumented driver; its timestamps (Unix seconds)."""
    import yaml

    storage = work / f"traced-{time.time_ns()}"
    spec = work / "traced.yaml"
    spec.write_text(yaml.safe_dump(tiny_spec(storage, "benchmarks.startup_probe:train")))
    stamps = work / "stamps.json"
    launched = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.startup", "--child", str(spec), str(stamps)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
    )
    ended = time.time()
    if done.returncode != 0 or not stamps.is_file():
        raise RuntimeError(f"instrumented run failed: {done.stderr.decode()[-800:]}")
    found: dict[str, Any] = json.loads(stamps.read_text())
    found.update(launched=launched, ended=ended, sweep=str(storage / "startup"))
    return found


def child(spec: str, out: str) -> None:
    """The instrumented driver: ``caviar run SPEC`` in this process, its calls timestamped."""
    from benchmarks.startup_probe import Recorder

    recorder = Recorder(CHILD_STARTED)
    recorder.imports()  # torch, ray, ray.tune, then caviar's CLI, one by one
    recorder.patch()
    import yaml

    raw = yaml.safe_load(Path(spec).read_text())
    recorder.watch(Path(raw["storage"]) / raw["name"] / "curves")
    from caviar.cli import main as cli_main

    try:
        cli_main(["run", spec])
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise
    recorder.mark("main returned")
    recorder.stamps["driver_torch"] = "torch" in sys.modules
    Path(out).write_text(json.dumps(recorder.stamps))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child(argv[1], argv[2])
        return 0
    parser = section_parser(__doc__, "one repetition", plots=False)
    parser.add_argument("--repeat", type=int, default=3, help="plain runs (the median is shown)")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    with tempfile.TemporaryDirectory(prefix="caviar-bench-startup-") as tmp:
        work = Path(tmp)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        runs = sorted((whole_process(work) for _ in range(repeat)), key=lambda r: r.wall_s)
        stamps = instrumented(work)
        rows, total = breakdown(stamps)
        print(json.dumps(stamps), file=sys.stderr)  # the raw timestamps, for a closer look
    plain = [r.wall_s for r in runs]
    middle = runs[len(runs) // 2]
    median = middle.wall_s
    held = median <= TARGET_S
    lines = [
        "## Start-up: a 2-trial sweep, whole process (startup.py)",
        "",
        f"`caviar run` on a tiny spec (built-in mlp, 2 trials x 2 epochs, 200 synthetic rows, "
        f"embedded Ray): {fmt(median, 1)} s whole process (median of {repeat}; runs: "
        f"{', '.join(fmt(s, 1) for s in plain)} s). Claim: <= {TARGET_S:g} s: "
        f"{'held' if held else 'DID NOT HOLD'}.",
        "",
        f"The same run's process tree (driver, Ray's processes, trial workers) used "
        f"{fmt(middle.cpu_s, 1)} CPU s, and its last process ended {fmt(middle.tree_s, 1)} s "
        f"after launch; 1-minute load average before the runs: {fmt(load, 2)} on "
        f"{os.cpu_count()} CPUs (a loaded machine stretches the wall seconds far more than the "
        f"CPU seconds). The driver imported torch: "
        f"{'yes' if stamps.get('driver_torch') else 'no'}.",
        "",
        f"Where the time goes (one instrumented run of the same sweep, {fmt(total, 1)} s; "
        "phases in the order they happen, each from the end of the one before):",
        "",
        table(["phase", "wall s", "share", "CPU s"], rows),
        "",
        "CPU s: the CPU seconds of the process the phase ran in (the driver, or for the worker's "
        "import and data rows the first trial's worker), since the previous row of that process; "
        "on a loaded machine they are what the phase would take alone.",
        "",
        "CPU seconds by process when `ray.shutdown` is called (the driver and what it started that "
        "is still alive then; trial workers that Tune already stopped are missing):",
        "",
        table(["process", "n", "CPU s"], cpu_rows(stamps.get("processes", []))),
        "",
        *import_report(),
    ]
    emit("\n".join(lines) + "\n", args.out)
    return 0 if held or args.quick else 3


__all__ = ["PHASES", "main"]

if __name__ == "__main__":
    sys.exit(main())
