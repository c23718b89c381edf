"""The probes of benchmarks/startup.py: timestamps in the driver, in the Ray worker, and at import.

Nothing here changes what caviar does: the driver's probes wrap functions the CLI calls and note
when each call starts and ends; the worker's probe is a trainable that runs the built-in mlp and
adds to each report when its process was created, imported this module and entered the trial.
"""

from __future__ import annotations

import functools
import importlib
import re
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

MODULE_IMPORTED = time.time()  # in a Ray worker: when it imported the trainable's module
MODULE_CPU = time.process_time()  # and the CPU seconds the worker had used by then

# Functions the CLI calls on its way, by name, wherever caviar keeps them (modules move).
TRACED = (
    "load_spec",
    "prepare",
    "check_cluster",
    "_build_tuner",
    "run_sweep",
    "_summarize",
    "summarize",
)
CANDIDATES = (
    "caviar.cli",
    "caviar.cli.app",
    "caviar.cli.sweeps",
    "caviar.cli.render",
    "caviar.tune.checks",
    "caviar.tune.run",
    "caviar.spec.load",
)
# (label of the phase that ends at the event, event), for the table; the order is by time.
PHASES = {
    "interpreter": "python starts",
    "import torch": "import torch",
    "import ray": "import ray",
    "import ray.tune": "import ray.tune",
    "import caviar.cli": "import caviar's CLI (typer, rich, caviar.errors)",
    "import sweep modules": "import caviar's sweep modules (orchestrator, results, trainables)",
    "load_spec end": "read and parse the spec",
    "prepare end": "spec + data checks (prepare), before Ray",
    "ray.init start": "lock, banner",
    "ray.init end": "ray.init (embedded Ray: GCS, raylet, workers; the driver imports meanwhile)",
    "run_sweep: prepare end": "run_sweep: prepare again (storage, data)",
    "check_cluster end": "check_cluster (Ray's node table)",
    "_build_tuner end": "build the Tuner (searcher, scheduler, callbacks)",
    "Tuner.fit start": "spec.yaml written, fit called",
    "worker created": "Tune starts; first trial's worker process spawned",
    "worker imported": "worker imports torch, ray.tune, caviar, the trainable",
    "trial entered": "worker: actor set-up until the trial function runs",
    "trial imports": "worker: import the built-in mlp (caviar.trainables.mlp)",
    "data loaded": "worker: load the data (scikit-learn's make_classification)",
    "first report": "first epoch trained and reported",
    "first rows in curves/": "first result reaches curves/ (Parquet part)",
    "Tuner.fit end": "rest of the 2 trials, Tune's teardown",
    "ray.shutdown start": "run_sweep reads the trials table and returns",
    "ray.shutdown end": "ray.shutdown",
    "_summarize end": "summary table (reads Parquet)",
    "summarize end": "summary table (reads Parquet)",
    "main returned": "CLI returns",
    "ended": "interpreter exit (atexit, threads, Ray's hooks)",
}


class Recorder:
    """Timestamps of the driver's steps, as ``{event: unix seconds}`` (first call of each), and
    the driver's CPU seconds at each (``cpu``): under load, CPU seconds move less than wall ones."""

    def __init__(self, interpreter_started: float) -> None:
        self.stamps: dict[str, Any] = {"interpreter": interpreter_started, "cpu": {}}
        self._calls: dict[str, int] = defaultdict(int)

    def mark(self, event: str) -> None:
        if event not in self.stamps:
            self.stamps[event] = time.time()
            self.stamps["cpu"][event] = time.process_time()

    def imports(self) -> None:
        """Ray, Ray Tune and caviar's CLI, one by one (torch is not: the driver should not need
        it, and ``driver_torch`` says whether it did)."""
        for name in ("ray", "ray.tune", "caviar.cli"):
            importlib.import_module(name)
            self.mark(f"import {name}")

    def _wrap(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def traced(*args: Any, **kwargs: Any) -> Any:
            self._calls[label] += 1
            event = label if self._calls[label] == 1 else f"run_sweep: {label}"
            if label == "ray.shutdown":
                self.stamps["processes"] = process_cpu()
            self.mark(f"{event} start")
            try:
                return function(*args, **kwargs)
            finally:
                self.mark(f"{event} end")

        traced.__wrapped_by_probe__ = True  # type: ignore[attr-defined]
        return traced

    def patch(self) -> None:
        """Wrap the traced functions in every caviar module that holds them, Ray's init and
        shutdown, and ``Tuner.fit``."""
        import ray
        from ray import tune

        for name in CANDIDATES:
            try:
                importlib.import_module(name)
            except ImportError:
                continue
        self.mark("import sweep modules")
        for module_name, module in list(sys.modules.items()):
            if not module_name.startswith("caviar") or module is None:
                continue
            for label in TRACED:
                function = getattr(module, label, None)
                if callable(function) and not hasattr(function, "__wrapped_by_probe__"):
                    setattr(module, label, self._wrap(label, function))
        ray.init = self._wrap("ray.init", ray.init)
        ray.shutdown = self._wrap("ray.shutdown", ray.shutdown)
        setattr(tune.Tuner, "fit", self._wrap("Tuner.fit", tune.Tuner.fit))  # noqa: B010

    def watch(self, curves: Path) -> None:
        """Note when the first Parquet part appears under ``curves`` (a daemon thread)."""

        def poll() -> None:
            while "first rows in curves/" not in self.stamps:
                if curves.is_dir() and any(curves.glob("*.parquet")):
                    self.mark("first rows in curves/")
                    return
                time.sleep(0.02)

        threading.Thread(target=poll, daemon=True).start()


def process_cpu() -> list[list[Any]]:
    """CPU seconds (user + system) of this process and every process it started (the embedded
    Ray's GCS, raylet, agents and workers): [name, command tail, seconds]."""
    import psutil

    me = psutil.Process()
    found = []
    for process in [me, *me.children(recursive=True)]:
        try:
            times = process.cpu_times()
            command = " ".join(process.cmdline())
            name = process.name()
        except psutil.Error:
            continue
        found.append([name, command, times.user + times.system])
    return found


# How a process of the embedded Ray shows in its command line, and what to call it.
MARKERS = (
    ("benchmarks.startup", "the driver (caviar run)"),
    ("ray::ImplicitFunc", "trial worker (ray::ImplicitFunc)"),
    ("default_worker", "idle Ray worker (default_worker.py)"),
    ("dashboard/agent", "dashboard agent"),
    ("runtime_env/agent", "runtime env agent"),
    ("log_monitor", "log monitor"),
    ("autoscaler/_private/monitor", "autoscaler monitor"),
    ("dashboard/dashboard.py", "dashboard / API server"),
    ("gcs_server", "gcs_server"),
    ("raylet", "raylet"),
)


def cpu_rows(processes: list[list[Any]]) -> list[list[str]]:
    """Table rows: CPU seconds by kind of process, most first."""
    kinds: dict[str, list[float]] = defaultdict(list)
    for name, command, seconds in processes:
        kind = name
        for marker, label in MARKERS:
            if marker in command or marker == name:
                kind = label
                break
        kinds[kind].append(float(seconds))
    ordered = sorted(kinds.items(), key=lambda kv: -sum(kv[1]))
    return [[kind, str(len(values)), f"{sum(values):.2f}"] for kind, values in ordered]


def train(config: dict[str, Any], ctx: Any) -> None:
    """The built-in mlp; each report also says when this worker process started and got here."""
    import psutil

    entered = time.time()
    from caviar.trainables.mlp import train_mlp

    stamps = {
        "trial_entered": entered,
        "trial_imports": time.time(),
        "worker_created": psutil.Process().create_time(),
        "worker_imported": MODULE_IMPORTED,
        "worker_cpu_imported": MODULE_CPU,
    }
    data = ctx.data
    stamps.update(data_loaded=time.time(), worker_cpu_data=time.process_time())

    class Stamped:
        @property
        def data(self) -> Any:
            return data

        def report(self, checkpoint: Any = None, **metrics: Any) -> None:
            ctx.report(**metrics, **stamps, reported_at=time.time(), checkpoint=checkpoint)

        def __getattr__(self, name: str) -> Any:
            return getattr(ctx, name)

    train_mlp(config, Stamped())  # type: ignore[arg-type]


WORKER_EVENTS = (
    ("worker_created", "worker created"),
    ("worker_imported", "worker imported"),
    ("trial_entered", "trial entered"),
    ("trial_imports", "trial imports"),
    ("data_loaded", "data loaded"),
    ("reported_at", "first report"),
)


def breakdown(stamps: dict[str, Any]) -> tuple[list[list[str]], float]:
    """The phases as table rows (label, wall s, share, CPU s of the process it ran in), in time
    order, and the whole process's wall seconds."""
    import caviar

    events = {k: float(v) for k, v in stamps.items() if isinstance(v, int | float)}
    cpu = {k: float(v) for k, v in stamps.get("cpu", {}).items()}
    curves = caviar.read_curves(stamps["sweep"])
    first = curves.sort_values("reported_at").iloc[0] if len(curves) else None
    if first is not None:  # the first trial's worker: its stamps, and its CPU seconds
        for column, event in WORKER_EVENTS:
            if column in curves:
                events[event] = float(first[column])
        cpu["worker imported"] = float(first.get("worker_cpu_imported", float("nan")))
        cpu["data loaded"] = float(first.get("worker_cpu_data", float("nan")))
    start, end = events.pop("launched"), events["ended"]
    ordered = sorted((t, e) for e, t in events.items() if e in PHASES)
    rows, before, before_cpu = [], start, 0.0
    for t, event in ordered:
        seconds = t - before
        before = max(before, t)
        used = ""
        if event in cpu:
            worker = event in ("worker imported", "data loaded")
            base = cpu["worker imported"] if event == "data loaded" else 0.0
            used = f"{cpu[event] - (base if worker else before_cpu):.2f}"
            if not worker:
                before_cpu = cpu[event]
        rows.append([PHASES[event], f"{seconds:.2f}", f"{seconds / (end - start):.0%}", used])
    rows.append(["whole process", f"{end - start:.2f}", "100%", ""])
    return rows, end - start


_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def import_times(statement: str = "import caviar.cli") -> list[tuple[int, int, int, str]]:
    """``python -X importtime`` of ``statement``: (self us, cumulative us, depth, module)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement], capture_output=True, text=True
    )
    found = []
    for line in done.stderr.splitlines():
        match = _LINE.match(line)
        if match:
            found.append((int(match[1]), int(match[2]), len(match[3]) // 2, match[4]))
    return found


def sweep_imports() -> str:
    """The import statement of what ``caviar run`` imports: the CLI and the sweep modules."""
    import importlib.util

    found = []
    for name in CANDIDATES:
        try:
            if importlib.util.find_spec(name) is not None:
                found.append(name)
        except ImportError:
            continue
    return "import " + ", ".join(found)


def import_report(statement: str | None = None) -> list[str]:
    """Markdown: import seconds by top-level package, and which caviar module pulls each in."""
    statement = statement or sweep_imports()
    entries = import_times(statement)
    by_package: dict[str, int] = defaultdict(int)
    for own, _, _, module in entries:
        by_package[module.split(".")[0]] += own
    total = sum(by_package.values())
    top = sorted(by_package.items(), key=lambda kv: -kv[1])[:10]
    # -X importtime prints a module after its children: walk backwards to find each parent.
    pulled: dict[str, str] = {}
    for index, (_, cumulative, depth, module) in enumerate(entries):
        package = module.split(".")[0]
        if module != package or package in pulled or package == "caviar":
            continue
        need = depth
        for _, _, parent_depth, parent in entries[index + 1 :]:
            if parent_depth >= need:
                continue
            if parent.startswith("caviar"):
                pulled[package] = f"{parent} ({cumulative / 1e6:.2f} s)"
                break
            need = parent_depth
    rows = [[package, f"{own / 1e6:.2f}", pulled.get(package, "-")] for package, own in top]
    return [
        f'`python -X importtime -c "{statement}"`: {total / 1e6:.2f} s of imports '
        "(own time by top-level package; the caviar module that first imports it, and the "
        "package's whole import time there):",
        "",
        "| package | s | first imported by |",
        "|---|---:|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
    ]
