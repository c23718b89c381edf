"""Smoke test of the benchmarks: every one runs at its --quick size and writes its section.

No timing assertions (speed belongs to the benchmarks' own output, not to a test's verdict).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = {
    "## Start-up: a 2-trial sweep, whole process (startup.py)": "| ray.init (embedded Ray",
    "## Anytime test accuracy: MNIST-1D (mlp, cnn) and digits (mnist1d.py)": "| caviar random + ASHA |",
    "### MNIST-1D, cnn (mnist1d.py)": "| caviar recommended (no search:, no scheduler:) |",
    "## Orchestration overhead (overhead.py)": "| caviar (run_sweep, ASHA) |",
    "## Time to target (time_to_target.py)": "| caviar random + ASHA |",
    "## Scaling (scaling.py)": "| 2 |",
    "## Results store (results_store.py)": "| caviar ParquetResultsCallback",
    "## Results store at scale (results_scale.py)": "| curves |",
    "## Warm start (warm_start.py)": "| warm-started TPE |",
    "## Dashboard (dashboard.py)": "| first paint: navigation to every curve drawn",
}


@pytest.mark.slow
@pytest.mark.cluster
def test_every_benchmark_runs_quick_and_writes_its_table(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--results", str(results)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = results.read_text()
    assert "| CPUs |" in text
    for heading, row in SECTIONS.items():
        assert heading in text
        section = text.split(heading, 1)[1].split("\n## ", 1)[0]
        assert row in section, f"{heading} has no row {row!r}:\n{section}"
    assert "Failed" not in text
    plots = ("time_to_target.png", "scaling.png", "anytime_mnist1d.png", "anytime_mnist1d_cnn.png")
    for plot in plots:
        assert (tmp_path / "plots" / plot).stat().st_size > 1000
