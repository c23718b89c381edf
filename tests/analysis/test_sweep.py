"""caviar.analysis.sweep: the one reader of a stored sweep's spec, and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from caviar.analysis.sweep import load_sweep, read_spec
from caviar.errors import SpecError, UnreadableResults
from caviar.objective import Objective
from tests.results.report_data import write_sweep


def _respec(sweep: str, **changes: object) -> None:
    path = Path(sweep) / "sweep.yaml"
    spec = yaml.safe_load(path.read_text())
    spec.update(changes)
    path.write_text(yaml.safe_dump({k: v for k, v in spec.items() if v is not None}))


def test_a_stored_spec_with_its_objectives_and_space(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, trials=6)
    stored = read_spec(sweep)
    assert stored.name == "synthetic" and stored.objective == Objective("loss", "min")
    assert list(stored.space.searched) == ["lr", "momentum", "units", "opt"]
    assert stored.text == (Path(sweep) / "sweep.yaml").read_text()
    _respec(sweep, metric=["loss", "n_params"], mode=["min", "max"])
    both = read_spec(sweep).objectives
    assert both == (Objective("loss"), Objective("n_params", "max"))
    data = load_sweep(sweep)  # a multi-objective sweep is ranked by its first objective
    assert (data.metric, data.mode, data.objectives) == ("loss", "min", both)


def test_no_sweep_is_bad_input_naming_the_argument(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"^SWEEP_DIR: no caviar sweep at .*sweep.yaml not found"):
        read_spec(str(tmp_path))
    with pytest.raises(SpecError, match=r"^STORAGE: no caviar sweep"):
        read_spec(str(tmp_path), "STORAGE")


@pytest.mark.parametrize(
    ("changes", "text", "message"),
    [
        ({"mode": "best"}, None, r"sweep.yaml: mode must be 'min' or 'max', got 'best'"),
        ({"metric": None}, None, r"sweep.yaml: metric: expected a name, got None"),
        ({"space": {"lr": "loguniform(0, 1)"}}, None, r"sweep.yaml: space.lr: .*low must be > 0"),
        ({"space": ["lr"]}, None, r"sweep.yaml: space: expected a mapping"),
        ({}, "- a list\n", r"sweep.yaml is not a caviar sweep spec"),
        ({}, "name: [unclosed\n", r"sweep.yaml: cannot read it: "),
    ],
)
def test_a_damaged_spec_is_unreadable_results_in_one_line(
    tmp_path: Path, changes: dict[str, object], text: str | None, message: str
) -> None:
    sweep = write_sweep(tmp_path, trials=4)
    if text is not None:
        (Path(sweep) / "sweep.yaml").write_text(text)
    else:
        _respec(sweep, **changes)
    with pytest.raises(UnreadableResults, match=message) as raised:
        load_sweep(sweep)
    assert "\n" not in str(raised.value)
