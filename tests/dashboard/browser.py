"""Debian's headless Chromium driven by selenium through Debian's chromium-driver."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
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


@contextmanager
def chromium(tmp_path: Path, width: int = 1500, height: int = 1300) -> Iterator[Any]:
    """A fresh headless Chromium (new empty profile); ``make chromium`` installs it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if browser is None or driver_path is None:
        pytest.fail("chromium or chromium-driver is missing: run `make chromium`")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(check: Callable[[], T | None], timeout: float = 60, what: str = "") -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or check}")


def drawn_curves(driver: Any, sweep: str) -> int:
    """How many curves the page's plot of ``sweep`` draws: the lines of its traces, counted in
    the plotted data (runs of points between gaps), the best trials' repeated lines left out."""
    value = driver.execute_script(
        """
        const div = document.querySelector(`section[data-sweep='${arguments[0]}'] .curves`);
        if (!div || !div.data) return 0;
        let n = 0;
        for (const trace of div.data) {
          if (trace.mode !== "lines" || !trace.x || String(trace.name || "").startsWith("#")) continue;
          let inside = false;
          for (const x of trace.x) {
            if (x === null) inside = false;
            else if (!inside) { inside = true; n += 1; }
          }
        }
        return n;
        """,
        sweep,
    )
    return int(value or 0)
