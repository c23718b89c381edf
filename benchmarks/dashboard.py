"""Dashboard: first paint of a 2,000-trial x 100-iteration sweep, and the size of a live update.

A synthetic store (written with caviar's own writers, as flushed parts) is served by
``caviar.dashboard``; Debian's headless Chromium (selenium, chromium-driver) opens the page. Time to
first paint is the page's own ``caviar-first-curves`` performance mark (navigation start to the
curves of every trial drawn). Then one flush's worth of new rows is written (one more iteration for
each running trial) and the update that carries it is measured: its size (JSON and gzip, as the
page gets it) and the time from the part landing on storage to the page having drawn it.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import yaml

from benchmarks.common import emit, fmt, section_parser, table

SPACE = {
    "lr": "loguniform(1e-4, 1)",
    "momentum": "reverse_loguniform(0.9, 0.999)",
    "units": "integer(8, 256)",
    "opt": 'choice("sgd", "adam")',
    "epochs": 100,
}
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def write_store(root: Path, trials: int, iterations: int, running: int, parts: int) -> str:
    """A sweep of ``trials`` trials x ``iterations`` results in ``parts`` curves parts."""
    from caviar.results.store import SweepStore
    from caviar.results.tables import build_table, param_types
    from caviar.search_spaces import Space

    rng = np.random.default_rng(0)
    space = Space.from_dict(SPACE)
    sweep = root / "bench"
    store = SweepStore.at(str(sweep))
    spec = {
        "name": "bench",
        "trainable": "mlp",
        "metric": "loss",
        "mode": "min",
        "space": SPACE,
        "search": {"algorithm": "random", "num_samples": trials},
        "scheduler": {"name": "fifo"},
    }
    store.write_text("sweep.yaml", yaml.safe_dump(spec, sort_keys=False))
    rows: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    steps = np.arange(1, iterations + 1)
    for index in range(trials):
        config = space.sample(rng)
        floor = 0.2 + (np.log10(config["lr"]) + 2) ** 2
        losses = floor + 2.0 / steps + rng.normal(0, 0.01, iterations)
        trial_id = f"t{index:05d}"
        live = index >= trials - running
        rows.append(
            {
                "trial_id": trial_id,
                "status": "RUNNING" if live else "TERMINATED",
                **config,
                "loss": float(losses[-1]),
                "best_loss": float(losses.min()),
                "iterations": iterations,
                "stopped_early": False,
            }
        )
        curves += [
            {"trial_id": trial_id, "iteration": int(s), "loss": float(v), "time_total_s": 0.1 * s}
            for s, v in zip(steps, losses, strict=True)
        ]
    fixed = {"trial_id": pa.string(), "status": pa.string(), **param_types(space)}
    fixed |= {"best_loss": pa.float64(), "iterations": pa.int64(), "stopped_early": pa.bool_()}
    store.write_trials(build_table(rows, fixed, {}))
    key = {"trial_id": pa.string(), "iteration": pa.int64()}
    for number, chunk in enumerate(np.array_split(np.arange(len(curves)), parts)):
        store.append_curves(build_table([curves[i] for i in chunk], key, {}), number)
    return str(sweep)


def flush_one_iteration(sweep: str, trials: int, running: int, iteration: int) -> float:
    """One more result for each running trial, as one flushed part; when it landed (epoch s)."""
    from caviar.results.store import SweepStore
    from caviar.results.tables import build_table

    store = SweepStore.at(sweep)
    rows = [
        {"trial_id": f"t{i:05d}", "iteration": iteration, "loss": 0.5, "time_total_s": 1.0}
        for i in range(trials - running, trials)
    ]
    key = {"trial_id": pa.string(), "iteration": pa.int64()}
    store.append_curves(build_table(rows, key, {}), store.next_sequence())
    return time.time()


def get(port: int, path: str) -> tuple[bytes, float]:
    """GET ``path`` with gzip accepted, as a browser asks; the raw body and the seconds it took."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    start = time.perf_counter()
    connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
    body = connection.getresponse().read()
    return body, time.perf_counter() - start


def measure(trials: int, iterations: int, running: int) -> dict[str, float]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from caviar.dashboard.server import serve

    workdir = Path(tempfile.mkdtemp(prefix="caviar-bench-dash-"))
    found: dict[str, float] = {}
    try:
        start = time.perf_counter()
        sweep = write_store(workdir, trials, iterations, running, parts=20)
        found["write_s"] = time.perf_counter() - start
        start = time.perf_counter()
        with serve(sweep) as server:
            server.warmed(timeout=600)
            found["warm_s"] = time.perf_counter() - start
            options = webdriver.ChromeOptions()
            options.binary_location = shutil.which("chromium") or "chromium"
            for flag in FLAGS:
                options.add_argument(flag)
            options.add_argument(f"--user-data-dir={workdir / 'profile'}")
            options.add_argument("--window-size=1500,1300")
            service = Service(executable_path=shutil.which("chromedriver") or "chromedriver")
            driver = webdriver.Chrome(service=service, options=options)
            try:
                driver.set_page_load_timeout(120)
                driver.get(server.url)
                paint = _wait(
                    lambda: driver.execute_script(
                        "const m = performance.getEntriesByName('caviar-first-curves')[0];"
                        "const d = document.querySelector('.curves');"
                        "return m && d && Number(d.dataset.curves) === arguments[0] "
                        "? m.startTime : null;",
                        trials,
                    )
                )
                found["first_paint_ms"] = float(paint)
                # What the page's first request got (served again, warm, to be measured here).
                body, found["snapshot_s"] = get(server.port, "/api/sweeps/bench/update?points=0")
                found["snapshot_gzip"] = len(body)
                snapshot = json.loads(gzip.decompress(body))
                found["snapshot_json"] = len(json.dumps(snapshot, separators=(",", ":")))
                have = int(snapshot["points"])
                _wait(
                    lambda: (
                        driver.execute_script(
                            "return Number(document.querySelector('section.sweep').dataset.points)"
                        )
                        >= have
                    )
                )
                time.sleep(1.5)  # let the page settle on its poll cadence
                landed = flush_one_iteration(sweep, trials, running, iterations + 1)
                drawn_at = _wait(
                    lambda: driver.execute_script(
                        "const s = document.querySelector('section.sweep');"
                        "return Number(s.dataset.points) > arguments[0] ? "
                        "Number(s.dataset.drawnAt) : null;",
                        have,
                    )
                )
                found["store_to_screen_s"] = float(drawn_at) / 1000 - landed
            finally:
                driver.quit()
            # The update that carried the new rows, as the page asked for it.
            rows = snapshot["rows"]
            body, found["delta_s"] = get(
                server.port,
                f"/api/sweeps/bench/update?points={have}&rows={rows}"
                f"&figures={snapshot['figures_version']}&generation={snapshot['generation']}",
            )
            found["delta_gzip"] = len(body)
            delta = json.loads(gzip.decompress(body))
            found["delta_json"] = len(json.dumps(delta, separators=(",", ":")))
            found["delta_points"] = sum(len(x) for x, _ in delta["curves"].values())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return found


def _wait(check: Any, timeout: float = 300) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError("the page did not get there")


def main(argv: list[str] | None = None) -> str:
    parser = section_parser(__doc__, "200 trials instead of 2,000", plots=False)
    args = parser.parse_args(argv)
    trials, iterations = (200, 100) if args.quick else (2000, 100)
    running = max(1, trials // 40)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    found = measure(trials, iterations, running)
    kib = 1024
    rows = [
        [
            "server start: sweep found, store read, figures built (before the page asks)",
            f"{fmt(found['warm_s'], 1)} s",
        ],
        [
            "first paint: navigation to every curve drawn",
            f"{fmt(found['first_paint_ms'], 0)} ms",
        ],
        [
            "first update (snapshot: figures + curves thinned to 40 points each)",
            f"{fmt(found['snapshot_json'] / kib, 0)} KiB JSON, "
            f"{fmt(found['snapshot_gzip'] / kib, 0)} KiB gzip, "
            f"served warm in {fmt(found['snapshot_s'], 2)} s",
        ],
        [
            f"live update: one new iteration of {running} running trials",
            f"{fmt(found['delta_json'] / kib, 1)} KiB JSON, "
            f"{fmt(found['delta_gzip'] / kib, 1)} KiB gzip "
            f"({int(found['delta_points'])} points), served in {fmt(found['delta_s'], 3)} s",
        ],
        [
            "store to screen: part written -> page drew it",
            f"{fmt(found['store_to_screen_s'], 2)} s",
        ],
    ]
    text = "\n".join(
        [
            "## Dashboard (dashboard.py)",
            "",
            f"A synthetic sweep of {trials:,} trials x {iterations} iterations "
            f"({trials * iterations:,} curve rows in 20 parts) served by `caviar dashboard`, opened "
            "in headless Chromium. The page polls every second; the sweep's results callback "
            "flushes every second, so a report waits up to 1 s to be on storage, then the "
            "'store to screen' time below (the page's next poll, the update, the redraw). "
            f"Load average (1, 5, 15 min) when it started: {load}.",
            "",
            table(["what", "measured"], rows, align="ll"),
            "",
        ]
    )
    return emit(text, args.out)


if __name__ == "__main__":
    main()
