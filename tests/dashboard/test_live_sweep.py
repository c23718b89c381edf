"""The whole loop in a real browser: `caviar run --dashboard` on a real sweep, steered from the page.

Headless Chromium opens the URL the command prints, sees the number of drawn curves grow, clicks
stop on a running trial (it ends STOPPED in trials.parquet with its rows so far) and adds 4 trials
(the sweep ends with 4 more than planned). The trainable logs every report (fsynced): the ground
truth the stored rows are compared with.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from selenium.webdriver.common.by import By

import caviar
from tests.conftest import kill_session
from tests.dashboard.browser import chromium, drawn_curves, wait_for
from tests.dashboard.steady import reported, steady_spec

PLANNED, ADDED, EPOCHS = 3, 4, 40


@pytest.mark.slow
def test_a_live_sweep_steered_from_the_page(tmp_path: Path) -> None:
    log = tmp_path / "reports.log"
    spec = steady_spec(tmp_path / "results", log, trials=PLANNED, epochs=EPOCHS, sleep=0.15)
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    command = [sys.executable, "-m", "caviar.cli", "run", str(tmp_path / "spec.yaml")]
    command += ["--num-cpus", "2", "--dashboard", "--dashboard-port", "0"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=dict(os.environ),
    )
    lines: list[str] = []

    def read() -> None:
        for line in process.stderr or []:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    sweep = str(tmp_path / "results" / "steady")
    try:
        try:
            url = wait_for(
                lambda: next((m.group(1) for line in lines if (m := URL.search(line))), None),
                timeout=180,
                what="the dashboard URL on stderr",
            )
        except AssertionError:
            raise AssertionError(f"no URL; stderr: {''.join(lines)[-3000:]}") from None
        with chromium(tmp_path) as driver:
            driver.get(url)
            first = wait_for(lambda: drawn_curves(driver, "steady"), what="the first curves")
            # Stop a trial that is running and has reported twice.
            row = wait_for(lambda: _running_row(driver), what="a running trial with 2 reports")
            stopped = row.get_attribute("data-trial")
            row.find_element(By.CSS_SELECTOR, "button.stop").click()
            number = driver.find_element(By.CSS_SELECTOR, "input.n")
            number.clear()
            number.send_keys(str(ADDED))
            driver.find_element(By.CSS_SELECTOR, "button.add").click()
            wait_for(
                lambda: drawn_curves(driver, "steady") > max(first, PLANNED),
                timeout=120,
                what="more curves than the planned trials",
            )
            driver.save_screenshot(str(tmp_path / "live.png"))
        assert process.wait(timeout=240) == 0, "".join(lines)[-3000:]
    finally:
        if process.poll() is None:
            kill_session(process)  # type: ignore[arg-type]

    trials = caviar.read_trials(sweep).set_index("trial_id")
    assert len(trials) == PLANNED + ADDED
    assert trials.loc[stopped, "status"] == "STOPPED"
    assert 2 <= trials.loc[stopped, "iterations"] < EPOCHS
    others = trials.drop(index=stopped)
    assert (others["status"] == "TERMINATED").all() and (others["iterations"] == EPOCHS).all()
    truth = reported(log)
    for trial_id, rows in caviar.read_curves(sweep).groupby("trial_id"):
        stored = set(rows["iteration"])
        if trial_id == stopped:  # its rows so far: 1..where it stopped, each one it reported
            assert stored == set(range(1, int(trials.loc[stopped, "iterations"]) + 1))
            assert stored <= truth[str(trial_id)]
        else:
            assert stored == truth[str(trial_id)]


URL = re.compile(r"dashboard at (http://127\.0\.0\.1:\d+/\?token=[\w-]+)")


def _running_row(driver: object) -> object | None:
    for row in driver.find_elements(By.CSS_SELECTOR, "tr.RUNNING"):  # type: ignore[attr-defined]
        cells = row.find_elements(By.CSS_SELECTOR, "td")
        if len(cells) > 2 and cells[2].text.isdigit() and int(cells[2].text) >= 2:
            return row
    return None
