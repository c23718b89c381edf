"""Tune's environment settings hold only around Tuner.fit(): nothing leaks between two sweeps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from caviar.spec.parse import parse_spec
from caviar.tune.environment import (
    MAX_PENDING,
    TUNE_DEFAULTS,
    scoped_environ,
    tune_environment,
    tune_settings,
)
from caviar.tune.run import run_sweep
from tests.conftest import small_spec

pytestmark = pytest.mark.xdist_group("ray")
TUNE_KEYS = [*TUNE_DEFAULTS, MAX_PENDING]


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in TUNE_KEYS:
        monkeypatch.delenv(key, raising=False)


def test_importing_the_runner_sets_nothing() -> None:
    code = (
        "import os, caviar.tune.run, caviar.tune.build;"
        f"print(sorted(k for k in {TUNE_KEYS!r} if k in os.environ))"
    )
    env = {k: v for k, v in os.environ.items() if k not in TUNE_KEYS}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_settings_hold_inside_and_are_gone_after(clean_environ: None) -> None:
    with tune_environment(pending_trials=3):
        assert os.environ[MAX_PENDING] == "3"
        assert os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] == "1"
    assert not [key for key in TUNE_KEYS if key in os.environ]


def test_a_users_value_wins_and_stays(clean_environ: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_PENDING, "7")
    assert MAX_PENDING not in tune_settings(pending_trials=2)
    with tune_environment(pending_trials=2):
        assert os.environ[MAX_PENDING] == "7"
    assert os.environ[MAX_PENDING] == "7"


def test_scoped_environ_restores_what_the_block_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAVIAR_TEST_A", "before")
    monkeypatch.delenv("CAVIAR_TEST_B", raising=False)
    with (
        pytest.raises(RuntimeError),
        scoped_environ({"CAVIAR_TEST_A": "in"}, also=["CAVIAR_TEST_B"]),
    ):
        os.environ["CAVIAR_TEST_B"] = "set by other means"
        raise RuntimeError
    assert os.environ["CAVIAR_TEST_A"] == "before"
    assert "CAVIAR_TEST_B" not in os.environ


def test_two_sweeps_in_one_process_do_not_leak_the_pending_trials(
    tmp_path: Path, ray_local: None, clean_environ: None
) -> None:
    """The first sweep's pending-trial count (its max_concurrent) must not reach the second."""
    first = small_spec(tmp_path, name="first", max_concurrent=1)
    first["search"] = {"algorithm": "random", "num_samples": 2}
    run_sweep(parse_spec(first), show_progress=False)
    assert not [key for key in TUNE_KEYS if key in os.environ]
    second = small_spec(tmp_path, name="second")
    second["search"] = {"algorithm": "random", "num_samples": 2}
    outcome = run_sweep(parse_spec(second), show_progress=False)
    assert outcome.trials == 2 and outcome.errors == 0
    assert not [key for key in TUNE_KEYS if key in os.environ]
