"""Workers import the user's modules from the driver's directory, appended after everything else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from caviar.cluster.connect import runtime_env
from caviar.cluster.worker_path import DRIVER_PATH_ENV


def test_the_runtime_env_leaves_the_clusters_pythonpath_alone() -> None:
    env = runtime_env()
    assert "PYTHONPATH" not in env["env_vars"]  # type: ignore[index]
    assert env["env_vars"][DRIVER_PATH_ENV] == os.getcwd()  # type: ignore[index]


def test_a_module_planted_in_the_drivers_directory_shadows_nothing(tmp_path: Path) -> None:
    """A worker's start: a ``json.py`` in the driver's directory does not replace the stdlib's,
    and a user module there is still found."""
    (tmp_path / "json.py").write_text("raise SystemExit('planted json imported')\n")
    (tmp_path / "user_model.py").write_text("def train(config, ctx):\n    pass\n")
    code = (
        "from caviar.cluster.worker_path import append_driver_path\n"
        "append_driver_path()\n"
        "import json, sys, user_model\n"
        "assert sys.path[-1] == sys.argv[1], sys.path\n"
        "print(json.__file__)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        env={**env, DRIVER_PATH_ENV: str(tmp_path)},
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert str(tmp_path) not in done.stdout


@pytest.mark.xdist_group("ray")
def test_a_worker_keeps_the_clusters_pythonpath(ray_local: None) -> None:
    """Today's runtime_env replaced it with the driver's cwd first."""
    import ray

    @ray.remote(num_cpus=0)
    def where() -> tuple[list[str], str, str]:
        return list(sys.path), os.environ.get("PYTHONPATH", ""), os.environ[DRIVER_PATH_ENV]

    path, pythonpath, driver = ray.get(where.remote())
    assert pythonpath == os.environ.get("PYTHONPATH", "")
    assert driver == os.getcwd() and driver in path


@pytest.mark.slow  # a fresh process with its own embedded Ray: ~1 min here
def test_a_user_module_next_to_the_spec_trains_with_the_console_script(tmp_path: Path) -> None:
    """End to end, as a user runs it: `caviar run` (not `python -m`) in the module's directory,
    no PYTHONPATH: the check finds the module without importing it, and the workers import it."""
    import pandas as pd
    import yaml

    (tmp_path / "my_model.py").write_text(
        "def train(config, ctx):\n"
        "    for epoch in range(1, 3):\n"
        "        ctx.report(loss=config['x'] / epoch)\n"
    )
    spec = {
        "name": "mine",
        "trainable": "my_model:train",
        "metric": "loss",
        "space": {"x": "uniform(0, 1)"},
        "search": {"num_samples": 2},
        "storage": str(tmp_path / "results"),
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAY_AUTH_MODE")}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "caviar"), "run", "spec.yaml", "--num-cpus", "2"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    trials = pd.read_parquet(tmp_path / "results" / "mine" / "trials.parquet")
    assert len(trials) == 2 and (trials["status"] == "TERMINATED").all()
