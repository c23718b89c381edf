"""The dashboard page in real headless Chromium, on a synthetic results store (no Ray).

The page reads only the store: a curves part flushed while it is open shows up as a new curve,
and its buttons write steering requests next to the sweep.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from selenium.webdriver.common.by import By

from caviar.dashboard.server import serve
from caviar.results.control import read_requests
from caviar.results.store import SweepStore
from caviar.results.tables import build_table
from tests.dashboard.browser import chromium, drawn_curves, wait_for
from tests.results.report_data import write_sweep


def append_rows(sweep: str, trial_id: str, iterations: range) -> None:
    """Flush one more curves part, as the results callback does during a sweep."""
    store = SweepStore.at(sweep)
    rows = [
        {"trial_id": trial_id, "iteration": i, "loss": 1.0 + 1.0 / i, "time_total_s": 0.1 * i}
        for i in iterations
    ]
    fixed = {"trial_id": pa.string(), "iteration": pa.int64()}
    store.append_curves(build_table(rows, fixed, {}), store.next_sequence())


def test_page_draws_new_curves_and_writes_steering_requests(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path / "results", trials=30, iterations=12, running=2)
    with serve(sweep, port=0) as server, chromium(tmp_path) as driver:
        driver.get(server.url)
        assert wait_for(lambda: drawn_curves(driver, "synthetic") == 30, what="30 curves")
        append_rows(sweep, "t00030", range(1, 4))
        assert wait_for(lambda: drawn_curves(driver, "synthetic") == 31, what="a 31st curve")
        # The running trial's row has a stop button; clicking it records the request.
        button = wait_for(
            lambda: driver.find_elements(By.CSS_SELECTOR, "button.stop[data-trial='t00030']"),
            what="a stop button",
        )[0]
        button.click()
        store = SweepStore.at(sweep)
        wait_for(lambda: read_requests(store), what="a stop request")
        number = driver.find_element(By.CSS_SELECTOR, "input.n")
        number.clear()
        number.send_keys("4")
        driver.find_element(By.CSS_SELECTOR, "button.add").click()
        requests = wait_for(
            lambda: (r := read_requests(store)) and len(r) == 2 and r, what="an add request"
        )
        assert [(r.action, r.trial_id, r.n) for r in requests] == [
            ("stop_trial", "t00030", 0),
            ("add_trials", None, 4),
        ]
        assert all(r.source == "dashboard" for r in requests)
        # The parameter figures are drawn, and no script error was logged.
        figures = driver.find_elements(By.CSS_SELECTOR, "[data-figure^='param-']")
        assert len(figures) == 4
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []


def test_page_bound_off_loopback_works_with_the_printed_url(tmp_path: Path) -> None:
    """With --host 0.0.0.0 every request needs the token: the URL's, then the page's cookie."""
    from caviar.dashboard.server import Dashboard, Server

    sweep = write_sweep(tmp_path / "results", trials=12, iterations=6)
    # The rules of a dashboard bound to every address; the socket listens on 127.0.0.1 only.
    dashboard = Dashboard(sweep, host="0.0.0.0")
    with Server(dashboard, 0, bind="127.0.0.1") as server, chromium(tmp_path) as driver:
        driver.get(server.url)
        assert wait_for(lambda: drawn_curves(driver, "synthetic") == 12, what="12 curves")
        driver.delete_all_cookies()
        driver.get(server.url.split("?")[0])  # no token: refused
        assert "needs the token" in driver.page_source
