"""``caviar run`` as a command ends its process itself once the sweep is done
(``caviar.cli.exit_promptly``): every result a trial reported is in Parquet by then.

The trainable (tests/results/killable.py) logs each (trial_id, iteration) it reported to an
fsynced side file, before the process ends: that file is the ground truth for curves/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import caviar
from tests.conftest import run_cli
from tests.results.killable import GROUND_TRUTH_ENV, killable_spec

pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("ray-cluster")]


def test_every_reported_row_is_in_parquet_when_the_command_exits(tmp_path: Path) -> None:
    truth = tmp_path / "reported.log"
    spec = killable_spec(
        "durable",
        tmp_path / "results",
        epochs=3,
        sleep=0.0,
        search={"num_samples": 3},
        scheduler={"name": "fifo"},  # every trial reports all 3 iterations
    )
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    done = run_cli(
        "run", str(tmp_path / "spec.yaml"), env={GROUND_TRUTH_ENV: str(truth)}, timeout=600
    )
    assert done.returncode == 0, done.stderr
    reported = sorted(tuple(line.split(",")) for line in truth.read_text().split())
    curves = caviar.read_curves(str(tmp_path / "results" / "durable"))
    stored = sorted(zip(curves["trial_id"], curves["iteration"].astype(str), strict=True))
    assert len(reported) == 9
    assert stored == reported
    assert (tmp_path / "results" / "durable" / "trials.parquet").is_file()
