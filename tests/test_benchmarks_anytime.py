"""The anytime benchmark's parts that decide its figures, without Ray and without timing anything.

Selection by validation only, the test score of the selected model, the caviar trainables' extra
report keys, the peers training caviar's own model and stopping when told, caviar's own test score
read where trials.parquet has one, the size's estimate, and every mode's spec accepted by caviar
(the recommended one without search: or scheduler:).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from benchmarks.anytime import Run
from benchmarks.anytime_trainables import caviar_cnn, caviar_mlp, train_builtin
from benchmarks.mnist1d import own_test_score, seconds_since_epoch
from benchmarks.modes import (
    FULL,
    FUSED,
    PEERS,
    QUICK,
    RECOMMENDED,
    Plan,
    caviar_modes,
    caviar_spec,
    data_spec,
    estimate,
    takes_held_out,
)
from benchmarks.problems import PROBLEMS, SHAPES, arrays, optuna_params, write_tables
from caviar.spec.parse import parse_spec
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


@pytest.mark.parametrize("trainable", [caviar_mlp, caviar_cnn])
def test_caviar_trainable_adds_test_accuracy_and_keeps_the_checkpoint_interval(
    trainable: Any, digits: dict[str, Path]
) -> None:
    ctx = _Memory()
    config = {"problem": str(digits["arrays"]), "epochs": 3, "checkpoint_every": 2}
    if trainable is caviar_cnn:
        config.update(channels=8, conv_layers=2, batch_norm=True)
    trainable(config, ctx)
    assert [checkpointed for _, checkpointed in ctx.reports] == [False, True, True]
    for metrics, _ in ctx.reports:
        assert 0.0 <= metrics["anytime_test_accuracy"] <= 1.0
        assert metrics["wall_clock"] > 0
    # a trained model, not an untrained one (a tenth right)
    assert ctx.reports[-1][0]["anytime_test_accuracy"] > 0.5


def test_digits_rows_keep_their_image_shape(digits: dict[str, Path]) -> None:
    assert arrays(str(digits["arrays"])).shape == SHAPES["digits"] == (1, 8, 8)


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_peers_train_caviars_model_and_stop_when_their_pruner_says(
    model: str, digits: dict[str, Path]
) -> None:
    seen: list[tuple[int, dict[str, float]]] = []

    def report(epoch: int, metrics: dict[str, float]) -> bool:
        seen.append((epoch, metrics))
        return epoch == 2  # the pruner stops the trial after its second epoch

    config = {"lr": 3e-3, "seed": 1} | ({"channels": 8, "conv_layers": 2} if model == "cnn" else {})
    train_builtin(model, config, str(digits["arrays"]), 5, report)
    assert [epoch for epoch, _ in seen] == [1, 2]
    assert set(seen[-1][1]) == {"val_loss", "val_accuracy", "test_accuracy", "wall_clock"}
    assert seen[-1][1]["test_accuracy"] > 0.5


class _Trial:
    """What optuna_params asks of an Optuna trial: the first choice, the lower bound."""

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        return choices[0]

    def suggest_float(self, name: str, low: float, high: float, log: bool) -> float:
        return low


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_every_tool_gets_the_same_space(name: str) -> None:
    problem = PROBLEMS[name]
    assert set(optuna_params(_Trial(), problem.space)) == {p.name for p in problem.space}
    assert set(problem.fixed).isdisjoint(p.name for p in problem.space)


def test_caviars_own_test_score_is_its_best_trials_where_written() -> None:
    trials = pd.DataFrame(
        {
            "trial_id": ["a", "b", "c"],
            "val_accuracy": [0.9, 0.8, 0.95],
            "test_accuracy": [0.7, float("nan"), float("nan")],  # only selected trials scored
        }
    )
    assert own_test_score(trials) == (0.7, "a")
    score, trial = own_test_score(trials.drop(columns="test_accuracy"))
    assert math.isnan(score) and trial is None


def test_the_estimate_adds_each_runs_budget_and_overhead() -> None:
    full = estimate(FULL, list(FULL.budgets))
    assert 0 < estimate(QUICK, list(QUICK.budgets)) < full / 10
    one = estimate(FULL, ["digits"], {"digits": [RECOMMENDED]})
    assert one == FULL.seeds * (FULL.budgets["digits"] + 14.0)
    assert FUSED not in FULL.contestants("mnist1d_cnn")
    assert FUSED in FULL.contestants("mnist1d")


@pytest.mark.parametrize(
    ("problem", "label"),
    [
        (problem, label)
        for problem in sorted(PROBLEMS)
        for label in caviar_modes(Plan(12, 16, 4))
        if label != FUSED or PROBLEMS[problem].model == "mlp"  # only the mlp fuses
    ],
)
def test_every_caviar_mode_is_a_spec_caviar_accepts(
    label: str, problem: str, digits: dict[str, Path], tmp_path: Path
) -> None:
    spec = caviar_spec(
        label,
        PROBLEMS[problem],
        Plan(12, 16, 4),
        0,
        10.0,
        data_spec(digits, takes_held_out(digits), (1, 8, 8) if problem == "mnist1d_cnn" else None),
        tmp_path,
        digits["arrays"],
    )
    parsed = parse_spec(spec)
    assert parsed.time_budget_s == 10.0
    assert set(PEERS).isdisjoint({label})
    if label == RECOMMENDED:  # whatever this caviar resolves a spec without them to
        assert "search" not in spec and "scheduler" not in spec


def _mode_run(mode: str, seed: int, rows: list[tuple[float, float, float]]) -> Run:
    frame = pd.DataFrame(rows, columns=["t", "val_accuracy", "test_accuracy"])
    return Run(mode, seed, 30.0, frame, trials=len(rows))


def test_claims_count_a_tool_with_no_model_by_t_as_zero_and_pair_asha_with_fifo() -> None:
    from benchmarks.mnist1d import _claims
    from benchmarks.modes import RANDOM_ASHA, RANDOM_FIFO

    optuna, ray = list(PEERS)[:2]
    runs = []
    for seed in range(2):
        runs += [
            _mode_run(RECOMMENDED, seed, [(5.0, 0.9, 0.95)]),
            _mode_run(optuna, seed, [(2.0, 0.8, 0.90)]),
            _mode_run(ray, seed, [(25.0, 0.99, 0.99)]),  # after T = 20 s: no model by T
            _mode_run(RANDOM_FIFO, seed, [(8.0, 0.9, 0.95)]),
            _mode_run(RANDOM_ASHA, seed, [(4.0, 0.9, 0.95)]),
        ]
    claims = _claims(PROBLEMS["mnist1d_cnn"], runs, 20.0)
    # >= Optuna, >= Ray Tune (no model by T), >= the paper's 0.94, ASHA 4 s / fifo 8 s = 0.5
    assert [ok for _, ok in claims] == [True, True, True, True], claims
    assert "first epoch reported at 5.0 s against 2.0 s" in claims[0][0]
    assert "(never)" in claims[1][0]
    slower = [r for r in runs if r.mode != RANDOM_ASHA] + [
        _mode_run(RANDOM_ASHA, seed, [(6.0, 0.9, 0.95)]) for seed in range(2)
    ]
    assert not _claims(PROBLEMS["mnist1d_cnn"], slower, 20.0)[-1][1]  # 6 / 8 > 0.5


def test_no_claim_holds_for_a_recommended_mode_with_no_model_by_t() -> None:
    from benchmarks.mnist1d import _claims

    runs = [
        _mode_run(RECOMMENDED, 0, [(25.0, 0.9, 0.95)]),
        _mode_run(next(iter(PEERS)), 0, [(25.0, 0.8, 0.90)]),  # neither has a model by T
    ]
    assert [ok for _, ok in _claims(PROBLEMS["mnist1d"], runs, 20.0)] == [False, False]


def test_a_parquet_timestamp_reads_as_seconds_since_the_epoch_whatever_its_unit() -> None:
    when = pd.Series(pd.to_datetime([1_790_000_000.5], unit="s", utc=True)).astype(
        "datetime64[us, UTC]"
    )
    assert seconds_since_epoch(when).tolist() == [1_790_000_000.5]
    assert seconds_since_epoch(when.dt.tz_localize(None)).tolist() == [1_790_000_000.5]
