"""Every spec form the parser accepts: sweep.yaml holds it resolved, and report/show/ls read any form.

sweep.yaml is the resolved spec (shorthands expanded, Ray's real defaults filled in), which parses
back to the same resolved spec. Older sweep.yaml files hold the spec as written: `caviar report`,
`show` and `ls` must read those too, in every form, without a traceback; the report's rungs are
the ones Ray's own scheduler uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from caviar.cli import main
from caviar.plot import milestones
from caviar.search_spaces import Space
from caviar.spec.parse import parse_spec
from caviar.tune.resolved import spec_yaml
from caviar.tune.schedulers import rung_milestones
from tests.results.synthetic import SPACE, make_callback, make_trials, result

BASE: dict[str, Any] = {
    "name": "forms",
    "trainable": "tests.results.killable:train",
    "metric": "loss",
    "space": {**SPACE, "epochs": 12},
}
# (id, spec keys over BASE): each a form the parser accepts.
FORMS: list[tuple[str, dict[str, Any]]] = [
    ("nothing-optional", {}),
    ("mode-max", {"mode": "max"}),
    ("asha-shorthand", {"scheduler": "asha"}),
    ("hyperband-shorthand", {"scheduler": "hyperband"}),
    ("median-shorthand", {"scheduler": "median"}),
    ("pbt-shorthand", {"scheduler": "pbt"}),
    ("fifo-shorthand", {"scheduler": "fifo"}),
    ("asha-name-only", {"scheduler": {"name": "asha"}}),
    ("asha-null-option", {"scheduler": {"name": "asha", "grace_period": None}}),
    ("asha-full", {"scheduler": {"name": "asha", "max_t": 9, "grace_period": 3, "brackets": 2}}),
    ("hyperband-options", {"scheduler": {"name": "hyperband", "max_t": 9}}),
    ("scheduler-mapping-no-name", {"scheduler": {}}),
    ("search-grid", {"search": {"algorithm": "grid", "num_samples": 2}}),
    ("search-tpe", {"search": {"algorithm": "tpe"}}),
    ("search-c2f", {"search": {"algorithm": "coarse_to_fine", "num_samples": 12}}),
    ("time_budget_s", {"time_budget_s": 30}),
    ("budget", {"budget": {"trials": 5, "time_s": 60}}),
    ("confirm", {"confirm": {"top_k": 2}}),
    (
        "conditional-space",
        {
            "space": {
                **SPACE,
                "epochs": 12,
                "m": {"sample": "uniform(0, 1)", "when": {"opt": "sgd"}},
            }
        },
    ),
    ("epochs-range", {"space": {**SPACE, "epochs": "integer(4, 12)"}, "scheduler": "asha"}),
    ("no-epochs", {"space": SPACE, "scheduler": "asha"}),
    ("resources", {"resources": {"cpu": 0.5}, "max_concurrent": 2, "max_failures": -1}),
]


@pytest.mark.parametrize(("form", "keys"), FORMS, ids=[f[0] for f in FORMS])
def test_sweep_yaml_holds_the_resolved_spec(form: str, keys: dict[str, Any]) -> None:
    spec = parse_spec({**BASE, **keys})
    resolved = yaml.safe_load(spec_yaml(spec))
    assert yaml.safe_load(spec_yaml(parse_spec(resolved))) == resolved  # a fixed point
    assert isinstance(resolved["scheduler"], dict) and isinstance(resolved["search"], dict)
    assert "time_budget_s" not in resolved
    for key in ("mode", "resources", "max_concurrent", "max_failures", "seed", "storage"):
        assert key in resolved, key
    scheduler = resolved["scheduler"]
    if "search" not in keys and "scheduler" not in keys:  # the recommended mode, in full
        assert resolved["search"]["algorithm"] == "tpe" and scheduler["name"] == "asha"
        assert scheduler["reduction_factor"] == 3 and scheduler["stop_last_trials"] is True
    elif scheduler["name"] == "asha":
        given = keys["scheduler"] if isinstance(keys["scheduler"], dict) else {}
        defaults = {"grace_period": 1, "reduction_factor": 4, "brackets": 1}  # Ray's own
        for key, value in defaults.items():
            assert scheduler[key] == (given.get(key) or value), key
    if scheduler["name"] == "hyperband":
        assert scheduler["reduction_factor"] == 3 and scheduler["stop_last_trials"] is True
    if scheduler["name"] == "median":
        assert scheduler["min_samples_required"] == 3 and scheduler["hard_stop"] is True
    if scheduler["name"] == "pbt":
        assert scheduler["quantile_fraction"] == 0.25
        assert scheduler["hyperparam_mutations"] == ["lr"]
    if keys.get("time_budget_s"):
        assert resolved["budget"] == {"trials": None, "time_s": 30.0}


def _sweep_as_written(root: Path, raw: dict[str, Any]) -> Path:
    """A sweep directory with synthetic results whose sweep.yaml is ``raw`` as a user wrote it."""
    sweep = root / "results" / "forms"
    callback = make_callback(sweep, flush_seconds=1e9)
    callback.setup()
    trials = make_trials(4)
    for trial in trials:
        callback.on_trial_start(0, trials, trial)
        for iteration in range(1, 2 + 3 * int(trial.trial_id[-1])):
            callback.on_trial_result(0, trials, trial, result(trial, iteration))
        callback.on_trial_complete(0, trials, trial)
    callback.on_experiment_end(trials)
    (sweep / "sweep.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return sweep


@pytest.mark.parametrize(("form", "keys"), FORMS, ids=[f[0] for f in FORMS])
def test_report_show_and_ls_read_every_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str, keys: dict[str, Any]
) -> None:
    raw = {**BASE, **keys}
    parse_spec(raw)  # a form the parser accepts
    sweep = _sweep_as_written(tmp_path, raw)
    main(["report", str(sweep), "-o", str(tmp_path / "report.html")])
    main(["show", str(sweep)])
    main(["ls", str(tmp_path / "results")])
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "forms" in out.out
    html = (tmp_path / "report.html").read_text()
    assert "<html" in html.lower()
    # The rungs drawn are the resolved scheduler's, computed by Ray's own bracket code. A sweep.yaml
    # as written without search: and scheduler: predates the recommended mode: it ran fifo.
    resolved = yaml.safe_load(spec_yaml(parse_spec(raw)))["scheduler"]
    if "search" not in raw and "scheduler" not in raw:
        resolved = {"name": "fifo"}
    assert milestones(raw.get("scheduler"), Space.from_dict(raw["space"])) == rung_milestones(
        resolved
    )


def test_the_report_draws_asha_rungs_for_rays_default_factor_4() -> None:
    space = Space.from_dict({**SPACE, "epochs": 16})
    assert milestones("asha", space) == [1, 4, 16]  # Ray's _Bracket: 1 * 4^k up to max_t
    assert milestones({"name": "asha", "reduction_factor": 2}, space) == [1, 2, 4, 8, 16]
    assert milestones({"name": "hyperband", "max_t": 27}, space) == [1, 3, 9]
    assert milestones("fifo", space) == milestones("median", space) == []
