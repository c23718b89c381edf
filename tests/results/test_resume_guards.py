"""`caviar resume` guards: a sweep.yaml edited in ways that change what ran is refused (one line,
exit 2, before Ray starts); a finished sweep is left as it is (one line, exit 0, nothing re-run)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import caviar
from caviar.cli import main
from caviar.spec.parse import parse_spec
from caviar.tune.run import run_sweep

pytestmark = pytest.mark.xdist_group("ray")


def test_resume_refuses_an_edited_spec_and_leaves_a_finished_sweep_alone(
    tmp_path: Path,
    ray_local: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    truth = tmp_path / "truth.csv"
    raw = {
        "name": "guarded",
        "trainable": "tests.trainables.shapes:train",
        "metric": "loss",
        "space": {"x": "uniform(0, 1)", "epochs": 2, "log": str(truth)},
        "search": {"num_samples": 2},
        "storage": str(tmp_path / "results"),
    }
    outcome = run_sweep(parse_spec(raw), show_progress=False)
    sweep = Path(outcome.sweep_uri)
    written = (sweep / "sweep.yaml").read_text()
    reported = truth.read_text()
    capsys.readouterr()

    edited = yaml.safe_load(written)
    edited["space"]["epochs"] = 5
    (sweep / "sweep.yaml").write_text(yaml.safe_dump(edited))
    with pytest.raises(SystemExit) as refused:
        main(["resume", str(sweep)])
    err = capsys.readouterr().err
    assert refused.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "space differ from what ran" in err and "Traceback" not in err

    (sweep / "sweep.yaml").write_text(written)
    edited = yaml.safe_load(written)
    edited["budget"] = {"trials": 10}  # raising a budget is fine
    (sweep / "sweep.yaml").write_text(yaml.safe_dump(edited))
    main(["resume", str(sweep)])  # returns: exit 0
    out = capsys.readouterr().out
    assert "has finished (2 trials): nothing to resume" in out
    assert truth.read_text() == reported  # nothing ran again
    assert len(caviar.read_curves(str(sweep))) == 4
