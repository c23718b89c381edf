"""caviar.schedule.Asha: Ray-free decision tables, and the same decisions as Ray's ASHA."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from ray.tune.schedulers import AsyncHyperBandScheduler
from ray.tune.schedulers.async_hyperband import _Bracket

from caviar.objective import Objective
from caviar.schedule import CONTINUE, STOP, Asha, milestones

MIN = Objective("val_loss", "min")


@pytest.mark.parametrize(
    ("grace", "max_t", "rf", "s", "expected"),
    [
        (1, 8, 2, 0, [1, 2, 4, 8]),
        (1, 100, 4, 0, [1, 4, 16, 64]),
        (1, 20, 3, 0, [1, 3, 9]),
        (2, 20, 2, 1, [4, 8, 16]),
        (1, 27, 3, 0, [1, 3, 9, 27]),
        (5, 5, 4, 0, [5]),
    ],
)
def test_milestones_are_rays_rungs(
    grace: int, max_t: int, rf: float, s: int, expected: list[float]
) -> None:
    assert milestones(grace, max_t, rf, s) == expected
    assert milestones(grace, max_t, rf, s) == sorted(
        m for m, _ in _Bracket(grace, max_t, rf, s)._rungs
    )


# (trial, iteration, val_loss) -> decision, in arrival order; rungs 1, 2, 4 (rf 2, max_t 8).
TABLE: list[tuple[str, int, float, str]] = [
    ("a", 1, 0.5, CONTINUE),  # first at rung 1: nothing to compare with
    ("b", 1, 0.9, STOP),  # worse than the median of {a}
    ("c", 1, 0.3, CONTINUE),  # better
    ("a", 2, 0.4, CONTINUE),  # first at rung 2
    ("c", 2, 0.2, CONTINUE),
    ("d", 1, 0.6, STOP),  # below the median of {a, b, c} at rung 1 (cutoff 0.5)
    ("a", 3, 0.35, CONTINUE),  # no rung at 3
    ("a", 4, 0.34, CONTINUE),
    ("c", 4, 0.5, STOP),  # worse than a at rung 4
    ("a", 8, 0.3, STOP),  # max_t: stopped, not recorded
]


def test_decision_table() -> None:
    asha = Asha(MIN, max_t=8, grace_period=1, reduction_factor=2)
    for trial, iteration, value, decision in TABLE:
        assert asha.on_result(trial, iteration, value) == decision, (trial, iteration)
    rungs = {m: dict(r) for m, r in asha.brackets[0].rungs}
    assert rungs[1] == {"a": -0.5, "b": -0.9, "c": -0.3, "d": -0.6}
    assert rungs[4] == {"a": -0.34, "c": -0.5} and rungs[8] == {}
    asha.on_complete("a", 8, 0.3)  # Ray records the completed trial's last result
    assert asha.brackets[0].rungs[0][1] == {"a": -0.3}


def test_mode_max_prefers_larger_values_and_a_missing_metric_decides_nothing() -> None:
    asha = Asha(Objective("acc", "max"), max_t=8, grace_period=1, reduction_factor=2)
    assert asha.on_result("a", 1, 0.9) == CONTINUE
    assert asha.on_result("b", 1, 0.1) == STOP
    assert asha.on_result("c", 9, None) == CONTINUE  # not even max_t without the metric


def test_state_round_trips_through_plain_data() -> None:
    asha = Asha(MIN, max_t=8, grace_period=1, reduction_factor=2, brackets=2, seed=3)
    for trial, iteration, value, _ in TABLE[:6]:
        asha.on_result(trial, iteration, value)
    restored = Asha(MIN, max_t=8, grace_period=1, reduction_factor=2, brackets=2)
    restored.load(asha.state())
    assert restored.state() == asha.state()
    for trial, iteration, value, _ in TABLE[6:]:
        assert restored.on_result(trial, iteration, value) == asha.on_result(
            trial, iteration, value
        )
    assert restored.add("new") == asha.add("new")  # the bracket draws continue too


def test_bad_options_are_refused_naming_the_rule() -> None:
    with pytest.raises(ValueError, match="grace_period <= max_t"):
        Asha(MIN, max_t=2, grace_period=4)
    with pytest.raises(ValueError, match="reduction_factor must be > 1, got 1"):
        Asha(MIN, reduction_factor=1)


@dataclass
class _Trial:
    """What Ray's ASHA reads of a trial: its id."""

    trial_id: str


def _random_run(seed: int, n: int, epochs: int) -> list[tuple[str, int, float]]:
    """A random asynchronous interleaving of n trials' curves (some NaN), each in iteration order."""
    rng = np.random.default_rng(seed)
    curves = {f"t{i}": rng.lognormal(size=epochs).cumsum()[::-1] for i in range(n)}
    for curve in curves.values():
        if rng.random() < 0.2:
            curve[rng.integers(epochs)] = math.nan
    cursor = dict.fromkeys(curves, 0)
    events = []
    while cursor:
        trial = str(rng.choice(sorted(cursor)))
        events.append((trial, cursor[trial] + 1, float(curves[trial][cursor[trial]])))
        cursor[trial] += 1
        if cursor[trial] == epochs:
            del cursor[trial]
    return events


def _decide(events: list[tuple[str, int, float]], decide: Any, complete: Any) -> dict[str, int]:
    """Feed events in order, as Tune does (a stopped trial's later results never come)."""
    stopped: dict[str, int] = {}
    last: dict[str, tuple[int, float]] = {}
    for trial, iteration, value in events:
        if trial in stopped:
            continue
        last[trial] = (iteration, value)
        if decide(trial, iteration, value) == STOP:
            stopped[trial] = iteration
            complete(trial, iteration, value)
    for trial, (iteration, value) in last.items():
        if trial not in stopped:
            complete(trial, iteration, value)
    return stopped


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    ("mode", "max_t", "grace", "rf", "epochs"),
    [("min", 8, 1, 2, 8), ("max", 27, 1, 3, 12), ("min", 100, 1, 4, 20), ("min", 10, 2, 2, 10)],
)
def test_same_decisions_as_rays_asha_on_the_same_sequence(
    seed: int, mode: str, max_t: int, grace: int, rf: float, epochs: int
) -> None:
    events = _random_run(seed, n=12, epochs=epochs)
    options = {"max_t": max_t, "grace_period": grace, "reduction_factor": rf}
    ray = AsyncHyperBandScheduler(metric="m", mode=mode, **options)
    trials = {t: _Trial(t) for t, _, _ in events}
    for trial in trials.values():
        ray.on_trial_add(None, trial)  # type: ignore[arg-type]

    def ray_decide(trial: str, iteration: int, value: float) -> str:
        result = {"training_iteration": iteration, "m": value}
        return str(ray.on_trial_result(None, trials[trial], result))  # type: ignore[arg-type]

    def ray_complete(trial: str, iteration: int, value: float) -> None:
        ray.on_trial_complete(None, trials[trial], {"training_iteration": iteration, "m": value})  # type: ignore[arg-type]

    ours = Asha.from_options(Objective("m", mode), options)  # type: ignore[arg-type]
    expected = _decide(events, ray_decide, ray_complete)
    assert _decide(events, ours.on_result, ours.on_complete) == expected
    assert expected  # the sequences do cut trials
    ray_rungs = [{k: v for k, v in r.items()} for _, r in ray._brackets[0]._rungs]
    np.testing.assert_equal([dict(r) for _, r in ours.brackets[0].rungs], ray_rungs)


@pytest.mark.parametrize("seed", range(3))
def test_rungs_rebuilt_from_the_stored_rows_equal_the_live_ones(seed: int) -> None:
    events = _random_run(seed, n=10, epochs=8)
    live = Asha(MIN, max_t=8, grace_period=1, reduction_factor=2)
    stopped = _decide(events, live.on_result, live.on_complete)
    stored = [e for e in events if e[0] not in stopped or e[1] <= stopped[e[0]]]  # curves/ rows
    rebuilt = Asha(MIN, max_t=8, grace_period=1, reduction_factor=2)
    rebuilt.replay(reversed(stored))
    np.testing.assert_equal(rebuilt.state()["rungs"], live.state()["rungs"])


def test_a_trial_back_at_a_rung_gets_the_decision_it_got_the_first_time() -> None:
    asha = Asha(MIN, max_t=8, grace_period=1, reduction_factor=2)
    first = [asha.on_result(t, 1, v) for t, v in (("a", 0.5), ("b", 0.9), ("c", 0.3), ("d", 0.4))]
    assert first == [CONTINUE, STOP, CONTINUE, CONTINUE]
    # Restarted (from scratch, or an earlier checkpoint): judged by the records before its own,
    # not by those that came later (against b, c and d, a would be stopped).
    again = [asha.on_result(t, 1, v) for t, v in (("a", 0.5), ("b", 0.9), ("d", 0.4))]
    assert again == [CONTINUE, STOP, CONTINUE]
    assert list(asha.brackets[0].rungs[-1][1]) == ["a", "b", "c", "d"]  # arrival order kept
    assert asha.on_result("a", 2, 0.45) == CONTINUE  # a later iteration: a new rung as before


def test_replay_places_each_rungs_records_in_the_given_trial_order() -> None:
    rows = [("b_m10", 1, 0.2), ("b_m2", 1, 0.9), ("a_00001", 1, 0.5), ("a_00000", 1, 0.1)]
    natural = Asha(MIN, max_t=8, grace_period=1, reduction_factor=2)
    natural.replay(rows)
    assert list(natural.brackets[0].rungs[-1][1]) == ["a_00000", "a_00001", "b_m2", "b_m10"]
    ordered = Asha(MIN, max_t=8, grace_period=1, reduction_factor=2)
    ordered.replay(rows, order=["b_m10", "a_00001"])
    assert list(ordered.brackets[0].rungs[-1][1]) == ["b_m10", "a_00001", "a_00000", "b_m2"]
    # b_m2 restarting is judged by the three records before it: 0.9 is worse than their median.
    assert ordered.on_result("b_m2", 1, 0.9) == STOP
    assert ordered.on_result("b_m10", 1, 0.2) == CONTINUE  # the first record of the rung
