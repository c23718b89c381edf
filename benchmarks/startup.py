"""Benchmark: how long a 2-trial sweep takes, whole process, and where the time goes.

A user iterating on a spec pays ``caviar run``'s start-up on every run. This runs a tiny spec (the
built-in mlp, 2 trials x 2 epochs of 200 synthetic rows) twice:

1. plain ``caviar run SPEC``, timed from launch to exit: the figure a user sees;
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

import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks.common import ROOT, caviar_run_seconds, emit, fmt, section_parser, table  # noqa: E402
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


def whole_process(work: Path) -> float:
    """``caviar run SPEC`` from launch to exit, as a user runs it."""
    return caviar_run_seconds(tiny_spec(work / f"plain-{time.time_ns()}", "mlp"), work)


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
        plain = sorted(whole_process(work) for _ in range(repeat))
        stamps = instrumented(work)
        rows, total = breakdown(stamps)
        print(json.dumps(stamps), file=sys.stderr)  # the raw timestamps, for a closer look
    median = plain[len(plain) // 2]
    held = median <= TARGET_S
    lines = [
        "## Start-up: a 2-trial sweep, whole process (startup.py)",
        "",
        f"`caviar run` on a tiny spec (built-in mlp, 2 trials x 2 epochs, 200 synthetic rows, "
        f"embedded Ray): {fmt(median, 1)} s whole process (median of {repeat}; runs: "
        f"{', '.join(fmt(s, 1) for s in plain)} s). Claim: <= {TARGET_S:g} s: "
        f"{'held' if held else 'DID NOT HOLD'}.",
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
