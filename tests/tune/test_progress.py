"""The progress display: a rich bar on a terminal, plain lines otherwise, with ETA and best so far."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from rich.console import Console

from caviar.tune.progress import ProgressCallback


def drive(callback: ProgressCallback) -> None:
    trials = [SimpleNamespace(trial_id=f"t{i}") for i in range(3)]
    callback.setup()
    for trial in trials[:2]:
        callback.on_trial_start(0, [], trial)
    callback.on_trial_result(0, [], trials[0], {"loss": 0.5})
    callback.on_trial_result(0, [], trials[1], {"loss": 0.25})
    callback.on_trial_complete(0, [], trials[0])
    callback.on_trial_error(0, [], trials[1])


def test_plain_lines_say_done_running_pending_best_and_time_left(
    capsys: pytest.CaptureFixture[str],
) -> None:
    callback = ProgressCallback(4, "loss", "min", console=Console(file=io.StringIO()))
    drive(callback)
    line = callback.line()
    assert line.startswith("caviar: 2/4 trials done, 0 running, 2 pending, 1 failed")
    assert "best loss 0.25" in line and "left" in line
    callback.on_experiment_end([])
    assert "2/4 trials done" in capsys.readouterr().err
    assert callback.eta_seconds(now=callback._started + 10) == pytest.approx(10.0)


def test_a_terminal_gets_a_live_bar() -> None:
    output = io.StringIO()
    console = Console(file=output, force_terminal=True, width=120)
    callback = ProgressCallback(4, "loss", "max", console=console)
    drive(callback)
    callback.on_experiment_end([])
    text = output.getvalue()
    assert "2/4 trials" in text and "best loss 0.5" in text and "pending" in text


def test_a_sweep_sampling_until_its_budget_ends_shows_the_budget_left() -> None:
    callback = ProgressCallback(
        None, "loss", "min", console=Console(file=io.StringIO()), budget_s=60.0
    )
    drive(callback)
    line = callback.line()
    assert line.startswith("caviar: 2 trials done, 0 running, 0 pending, 1 failed"), line
    assert "None" not in line and "left" in line
    assert callback.eta_seconds(now=callback._started + 15) == pytest.approx(45.0)
    assert callback.eta_seconds(now=callback._started + 90) == 0.0
