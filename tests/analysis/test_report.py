"""``caviar report``: a self-contained HTML page, rendered for real in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from caviar.analysis.report import build_report, default_output
from tests.conftest import run_cli
from tests.results.report_data import write_sweep

# Chromium flags for a quiet, offline, sandbox-free run (tests run as root in containers).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--virtual-time-budget=10000",
]
# Records every uncaught error and rejected promise as an element that --dump-dom shows.
ERROR_PROBE = """<script>
function caviarProbe(text) {
  var marker = document.createElement("div");
  marker.className = "caviar-js-error";
  marker.textContent = String(text);
  (document.body || document.documentElement).appendChild(marker);
}
window.addEventListener("error", function (e) { caviarProbe(e.message); });
window.addEventListener("unhandledrejection", function (e) { caviarProbe(e.reason); });
</script>"""


class _Resources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.found.append(f"<{tag} {name}={value}>")


def external_resources(page: str) -> list[str]:
    """Every tag that loads something from elsewhere (script contents are not parsed as tags)."""
    parser = _Resources()
    parser.feed(page)
    return parser.found


def chromium() -> str:
    """Debian's chromium; ``make chromium`` installs it (make test depends on that target)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("headless Chromium is missing: run `make chromium` (apt-get install chromium)")
    return found


def render_dom(report: Path, tmp_path: Path) -> str:
    """The DOM of ``report`` after Chromium ran its scripts, with the error probe injected."""
    page = report.read_text(encoding="utf-8")
    probed = tmp_path / f"probed-{report.name}"
    probed.write_text(page.replace("<head>", "<head>" + ERROR_PROBE, 1), encoding="utf-8")
    result = subprocess.run(
        [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--dump-dom",
            probed.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def figure_blocks(dom: str) -> dict[str, str]:
    """The rendered DOM of each figure, by the figure id the report gave it."""
    starts = [(m.start(), m.group(1)) for m in re.finditer(r'data-figure="([^"]+)"', dom)]
    ends = [s for s, _ in starts[1:]] + [len(dom)]
    return {name: dom[start:end] for (start, name), end in zip(starts, ends, strict=True)}


def assert_rendered(dom: str, figures: tuple[str, ...]) -> None:
    assert "caviar-js-error" not in dom.split("</script>")[-1], re.findall(
        r'class="caviar-js-error">([^<]*)', dom
    )
    blocks = figure_blocks(dom)
    assert set(blocks) == set(figures)
    for name, block in blocks.items():
        assert "js-plotly-plot" in block, f"{name} was not drawn"
        assert 'class="main-svg"' in block, f"{name} has no plotly SVG"


def test_report_renders_in_chromium(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, trials=40, rounds=2)
    info = build_report(sweep, tmp_path / "report.html")
    assert {
        "curves",
        "rungs",
        "param-lr",
        "param-momentum",
        "param-opt",
        "parallel",
        "importance",
        "rounds",
    } <= set(info.figures)
    page = Path(info.path).read_text(encoding="utf-8")
    assert external_resources(page) == []  # opens without a network: plotly.js is inline
    assert "FanovaImportanceEvaluator" in page
    assert 'id="top-trials"' in page
    assert_rendered(render_dom(Path(info.path), tmp_path), info.figures)


def test_the_probe_sees_javascript_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text("<html><head></head><body><script>notDefined();</script></body></html>")
    assert "caviar-js-error" in render_dom(broken, tmp_path).split("</script>")[-1]


def test_two_thousand_trials(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, trials=2000, iterations=20)
    info = build_report(sweep, tmp_path / "report.html")
    started = time.perf_counter()
    dom = render_dom(Path(info.path), tmp_path)
    seconds = time.perf_counter() - started
    print(
        f"\n2,000 trials x 20 iterations: report {info.size_bytes / 1e6:.2f} MB "
        f"built in {info.seconds:.1f} s, rendered by Chromium in {seconds:.1f} s"
    )
    assert info.size_bytes < 12_000_000  # plotly.js is ~4.8 MB of it
    assert_rendered(dom, info.figures)


def test_a_running_sweep_shows_what_has_landed(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, trials=6, running=3)
    info = build_report(sweep, tmp_path / "report.html")
    page = Path(info.path).read_text(encoding="utf-8")
    assert "3 trials running, 3 without a reported result yet" in page
    assert info.trials == 9


def test_a_sweep_that_has_only_started(tmp_path: Path) -> None:
    only_spec = Path(write_sweep(tmp_path, trials=0, running=0))
    (only_spec / "trials.parquet").unlink()
    info = build_report(str(only_spec), tmp_path / "report.html")
    assert info.figures == ("curves", "rungs")
    assert "No trial has reported the metric yet" in Path(info.path).read_text(encoding="utf-8")


def test_cli_report_default_output_and_missing_sweep(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, trials=8)
    done = run_cli("report", sweep)
    assert done.returncode == 0, done.stderr
    assert (Path(sweep) / "report.html").is_file()
    assert "report.html" in done.stdout

    chosen = run_cli("report", sweep, "-o", str(tmp_path / "out" / "r.html"))
    assert chosen.returncode == 0 and (tmp_path / "out" / "r.html").is_file()

    into_dir = run_cli("report", sweep, "-o", str(tmp_path / "out"))
    assert into_dir.returncode == 0 and (tmp_path / "out" / "report.html").is_file()

    missing = run_cli("report", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert "no caviar sweep" in missing.stderr and "Traceback" not in missing.stderr
    assert not (tmp_path / "nope").exists()


def test_default_output() -> None:
    assert default_output("results/demo") == str(Path("results/demo/report.html"))
    assert default_output("s3://bucket/prefix/demo") == "demo-report.html"
