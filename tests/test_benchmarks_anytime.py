"""The anytime benchmark's parts that decide its figures, without Ray and without timing anything.

Selection by validation only, the test score of the selected model, the caviar trainable's extra
report keys, the peers' model matching the built-in mlp, and every mode's spec accepted by caviar.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from benchmarks.anytime import Run
from benchmarks.anytime_trainables import caviar_mlp, peer_model
from benchmarks.modes import PEERS, Plan, caviar_modes, caviar_spec, data_spec, takes_held_out
from benchmarks.problems import PROBLEMS, Arrays, arrays, write_tables
from caviar.spec.parse import parse_spec
from caviar.trainables.mlp import build_model, with_defaults
from caviar.tune.context import TrialContext


def _run(rows: list[tuple[float, float, float]]) -> Run:
    frame = pd.DataFrame(rows, columns=["t", "val_accuracy", "test_accuracy"])
    return Run("m", 0, 10.0, frame, trials=1)


def test_the_selected_model_is_the_best_by_validation_and_test_never_selects() -> None:
    # t, val, test: the second report has the best test score but a worse validation score.
    run = _run([(1.0, 0.5, 0.4), (2.0, 0.4, 0.9), (3.0, 0.6, 0.55), (4.0, 0.6, 0.99)])
    assert run.selected()["t"].tolist() == [1.0, 3.0]  # a tie keeps the earlier model
    assert math.isnan(run.test_at(0.5))
    assert run.test_at(2.5) == 0.4
    assert run.final() == 0.55
    assert run.time_to(0.5) == 3.0
    assert math.isnan(run.time_to(0.9))


def test_reports_are_placed_by_time_not_by_row_order() -> None:
    run = _run([(3.0, 0.9, 0.8), (1.0, 0.5, 0.5)])
    assert run.at(np.array([2.0, 3.5])).tolist() == [0.5, 0.8]


class _Memory(TrialContext):
    def __init__(self) -> None:
        super().__init__(None)
        self.reports: list[tuple[dict[str, Any], bool]] = []

    def _send(self, metrics: dict[str, Any], state: Any) -> None:
        self.reports.append((metrics, state is not None))


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_tables("digits", tmp_path_factory.mktemp("digits"))


def test_caviar_trainable_adds_test_accuracy_and_keeps_the_checkpoint_interval(
    digits: dict[str, Path],
) -> None:
    ctx = _Memory()
    config = {"problem": str(digits["arrays"]), "epochs": 3, "checkpoint_every": 2}
    caviar_mlp(config, ctx)
    assert [checkpointed for _, checkpointed in ctx.reports] == [False, True, True]
    for metrics, _ in ctx.reports:
        assert 0.0 <= metrics["anytime_test_accuracy"] <= 1.0
        assert metrics["wall_clock"] > 0
    assert (
        ctx.reports[-1][0]["anytime_test_accuracy"] > 0.5
    )  # a trained model, not an untrained one


def test_peer_model_is_the_builtin_mlp(digits: dict[str, Path]) -> None:
    rows: Arrays = arrays(str(digits["arrays"]))
    config = {"layers": 3, "hidden_units": 128, "dropout": 0.2}
    ours = build_model(with_defaults(config), rows.n_features, rows.n_classes)
    theirs = peer_model(config, rows.n_features, rows.n_classes)
    assert [p.shape for p in ours.parameters()] == [p.shape for p in theirs.parameters()]
    assert [type(m).__name__ for m in theirs] == [
        *["Linear", "ReLU", "Dropout"] * 3,
        "Linear",
    ]


@pytest.mark.parametrize("label", list(caviar_modes(Plan(12, 16, 4))))
def test_every_caviar_mode_is_a_spec_caviar_accepts(
    label: str, digits: dict[str, Path], tmp_path: Path
) -> None:
    spec = caviar_spec(
        label,
        PROBLEMS["digits"],
        Plan(12, 16, 4),
        0,
        10.0,
        data_spec(digits, held_out=takes_held_out(digits)),
        tmp_path,
        digits["arrays"],
    )
    parsed = parse_spec(spec)
    assert parsed.time_budget_s == 10.0
    assert set(PEERS).isdisjoint({label})
