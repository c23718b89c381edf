"""Every curves row of a real sweep carries the wall-clock time its trial reported it (UTC), so
best-so-far against wall time can be read from Parquet alone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import caviar
from caviar.orchestrator.run import run_sweep
from caviar.orchestrator.spec import parse_spec
from tests.results.killable import killable_spec

pytestmark = pytest.mark.xdist_group("ray")


def test_curves_rows_carry_their_report_time(tmp_path: Path, ray_local: None) -> None:
    spec = killable_spec("stamped", tmp_path / "results", epochs=3, sleep=0.2)
    spec["search"] = {"num_samples": 2}
    before = datetime.now(UTC).replace(microsecond=0)  # Ray records whole seconds
    outcome = run_sweep(parse_spec(spec), show_progress=False)
    after = datetime.now(UTC)
    curves = caviar.read_curves(outcome.sweep_uri)
    assert len(curves) == 6 and str(curves["timestamp"].dtype) == "datetime64[us, UTC]"
    stamps = [t.to_pydatetime() for t in curves["timestamp"]]
    assert all(before <= t <= after for t in stamps), (before, stamps, after)
    for _, rows in curves.groupby("trial_id"):
        times = rows.sort_values("iteration")["timestamp"].tolist()
        assert times == sorted(times)  # a trial's later iterations were reported later
