"""What every benchmark shares: its command line, running a caviar sweep in-process, the machine,
memory, tables (one row per mode, mean ± sd over seeds) and plots."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

ROOT = Path(__file__).resolve().parent.parent
# A benchmark that ran but found one of its claims not holding exits with this code; its section
# (which says so) is kept in RESULTS.md, and the run as a whole fails.
CLAIMS_FAILED = 3
PLOTS = Path(__file__).resolve().parent / "plots"

# Ray workers import benchmarks.trivial (and caviar) from the source tree.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in [str(ROOT), os.environ.get("PYTHONPATH", "")] if p
)
os.environ.setdefault("RAY_DEDUP_LOGS", "0")


@contextmanager
def ray_session(num_cpus: int | None = None, address: str | None = None) -> Iterator[None]:
    """One Ray for a whole benchmark (embedded, or the cluster at ``address``), as caviar connects."""
    from caviar.cluster.connect import connected

    here = os.getcwd()
    os.chdir(ROOT)  # workers get the current directory on their path
    try:
        with connected(address, num_cpus=num_cpus):
            yield
    finally:
        os.chdir(here)


def run_caviar(spec: dict[str, Any]) -> float:
    """Run one sweep on the connected Ray, the way ``caviar run`` does; return its wall seconds."""
    from caviar.spec.parse import parse_spec
    from caviar.tune.run import run_sweep

    parsed = parse_spec(spec)  # SpecError for what this caviar does not support
    start = time.perf_counter()
    outcome = run_sweep(parsed, show_progress=False)
    seconds = time.perf_counter() - start
    if outcome.errors:
        raise RuntimeError(f"{outcome.errors} trials of {spec['name']} failed")
    return seconds


def caviar_command() -> list[str]:
    """``caviar`` as a user runs it: the console script beside this Python, else its module."""
    import sys

    script = Path(sys.executable).parent / "caviar"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from caviar.cli import main; main()"]


def caviar_run_seconds(spec: dict[str, Any], workdir: Path) -> float:
    """``caviar run SPEC`` in a fresh process, launch to exit: the wall time a user waits."""
    import subprocess

    import yaml

    path = workdir / f"{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    started = time.perf_counter()
    done = subprocess.run([*caviar_command(), "run", str(path)], cwd=ROOT, capture_output=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"caviar run {path.name} failed: {done.stderr.decode()[-800:]}")
    return seconds


def rss_mb() -> float:
    """This process's resident memory, in MiB (Linux /proc; elsewhere the peak so far)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
        return float(peak) / (2**20 if sys.platform == "darwin" else 2**10)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: str = "") -> str:
    """A markdown table; ``align`` is one letter per column, ``l`` or ``r`` (default: l then r)."""
    align = align or "l" + "r" * (len(header) - 1)
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> dict[str, str]:
    """The machine and versions that a result was measured with."""
    import importlib.metadata as md

    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("caviar-sweep", "ray", "torch", "optuna", "pyarrow", "scikit-learn"):
        try:
            versions[package] = md.version(package)
        except md.PackageNotFoundError:
            versions[package] = "-"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return {
        "CPUs": str(os.cpu_count()),
        "CPU model": model,
        "memory": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB",
        "OS": platform.platform(),
        "python": platform.python_version(),
        **versions,
        "load average (1, 5, 15 min) at start": load,
    }


def fmt(value: float, digits: int = 2) -> str:
    """A number for a table; NaN as '-'."""
    return "-" if value != value else f"{value:,.{digits}f}"


def mean_spread(values: Sequence[float], digits: int = 3) -> str:
    """'mean ± sd' over the finite values, noting how many were missing ('never')."""
    finite = [v for v in values if v == v]
    if not finite:
        return "never" if values else "-"
    text = fmt(statistics.fmean(finite), digits)
    if len(finite) > 1:
        text += f" ± {fmt(statistics.stdev(finite), digits)}"
    if len(finite) < len(values):
        text += f" ({len(values) - len(finite)} of {len(values)} never)"
    return text


def mean(values: Sequence[float]) -> float:
    """The mean of the finite values (NaN: none)."""
    finite = [v for v in values if v == v]
    return statistics.fmean(finite) if finite else float("nan")


class Seeded(Protocol):
    """A run of one mode at one seed (each benchmark's own Run)."""

    mode: str
    seed: int


R = TypeVar("R", bound=Seeded)
# One column of a per-mode table: what it reads from a run, and the digits it is shown with.
Column = tuple[Callable[[Any], float], int]


def mode_rows(runs: Sequence[R], columns: Sequence[Column]) -> list[list[str]]:
    """One table row per mode, in the order the modes first ran: the mode, then each column's
    mean ± sd over that mode's runs (seeds)."""
    rows = []
    for mode in dict.fromkeys(r.mode for r in runs):
        mine = [r for r in runs if r.mode == mode]
        rows.append(
            [mode, *(mean_spread([get(r) for r in mine], digits) for get, digits in columns)]
        )
    return rows


def paired(runs: Sequence[R], first: str, second: str) -> list[tuple[R, R]]:
    """(run of ``first``, run of ``second``) at every seed where both ran: paired comparisons."""
    pairs = []
    for seed in sorted({r.seed for r in runs}):
        at = {r.mode: r for r in runs if r.seed == seed}
        if first in at and second in at:
            pairs.append((at[first], at[second]))
    return pairs


def section_parser(doc: str | None, quick: str, plots: bool = True) -> argparse.ArgumentParser:
    """The options every benchmark takes: --quick, --out (its RESULTS.md section) and --plots."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--out", type=Path, default=None, help="also write the section here")
    if plots:
        parser.add_argument("--plots", type=Path, default=PLOTS, help="where PNGs go")
    return parser


def emit(text: str, out: Path | None) -> str:
    """Print a benchmark's section, and write it to ``out`` for ``python -m benchmarks``."""
    print(text)
    if out is not None:
        out.write_text(text)
    return text


def figure(plot_dir: Path, *grid: int, **subplots: Any) -> tuple[Any, Any]:
    """A matplotlib figure and its axes (``plt.subplots``) drawn off-screen, ``plot_dir`` made."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plot_dir.mkdir(parents=True, exist_ok=True)
    return plt.subplots(*grid, **subplots)


def band(ax: Any, grid: Any, stack: Any, label: str) -> None:
    """One mode's curve on ``ax``: the mean over seeds (rows of ``stack``, NaN where a seed has no
    value yet) and, with more than one seed, its min-max band."""
    import warnings

    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN before a mode's first value
        middle = np.nanmean(stack, axis=0)
        low, high = np.nanmin(stack, axis=0), np.nanmax(stack, axis=0)
    (line,) = ax.plot(grid, middle, label=label, linewidth=1.4)
    if len(stack) > 1:
        ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.12)


def save_plot(fig: Any, plot_dir: Path, name: str) -> Path:
    """Write ``fig`` as ``plot_dir/name`` and free it."""
    import matplotlib.pyplot as plt

    path = plot_dir / name
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
