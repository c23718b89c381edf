"""Decision tables of caviar's one scheduler wrapper: who reaches Ray's rule, and what it decides.

Ray's own ASHA decides for the trials that reach it; the wrappers decide only which trials reach
it (confirmation and continued trials pass by), what a resumed scheduler is told, and when a trial
is past its time limit. No Ray is started: Tune's schedulers and stub Trials run in this process.
"""

from __future__ import annotations

from typing import Any

import pytest
from ray.tune.experiment import Trial
from ray.tune.schedulers import (
    AsyncHyperBandScheduler,
    FIFOScheduler,
    HyperBandScheduler,
    TrialScheduler,
)

from caviar.trainables.adapter import CONFIRM_KEY
from caviar.tune import compat
from caviar.tune.callbacks_results import STOP_REASON
from caviar.tune.continuation import Continued
from caviar.tune.limits import TrialTimeLimit
from caviar.tune.resumable import ResumableScheduler, find_resumable
from caviar.tune.schedulers import ConfirmationPassThrough
from caviar.tune.steering import SteeringScheduler
from caviar.tune.wrappers import SchedulerWrapper, chain, ray_scheduler


def trial(trial_id: str, status: str = Trial.RUNNING, **config: Any) -> Trial:
    made = Trial("__fake", config=config, trial_id=trial_id, stub=True)
    made.status = status
    return made


def asha() -> AsyncHyperBandScheduler:
    return AsyncHyperBandScheduler(metric="loss", mode="min", max_t=9, grace_period=1)


@pytest.mark.parametrize(
    ("wrap", "config", "trial_id", "reaches_asha"),
    [
        (ConfirmationPassThrough, {}, "a", True),
        (ConfirmationPassThrough, {CONFIRM_KEY: "a"}, "b", False),
        (lambda inner: Continued(inner, {"c"}), {}, "c", False),
        (lambda inner: Continued(inner, {"c"}), {}, "d", True),
        (SchedulerWrapper, {CONFIRM_KEY: "a"}, "e", True),  # the base lets nothing pass
    ],
)
def test_which_trials_reach_rays_rule(
    wrap: Any, config: dict[str, Any], trial_id: str, reaches_asha: bool
) -> None:
    inner = asha()
    wrapped = wrap(inner)
    made = trial(trial_id, **config)
    wrapped.on_trial_add(None, made)
    decision = wrapped.on_trial_result(None, made, {"loss": 1.0, "training_iteration": 1})
    assert (trial_id in inner._trial_info) == reaches_asha
    assert decision == TrialScheduler.CONTINUE  # the first result at the first rung continues
    wrapped.on_trial_complete(None, made, {"loss": 1.0, "training_iteration": 1})


def test_a_resumed_scheduler_keeps_restored_trials_out_of_fresh_brackets() -> None:
    """HyperBand's state saved with trial "old"; on resume "old" is re-added (known: its place is
    in the saved state), a finished unknown trial is not added, a new one is (ray#30838)."""
    running = ResumableScheduler(HyperBandScheduler(metric="loss", mode="min", max_t=9))
    running.on_trial_add(None, trial("old"))
    saved = running.state()
    assert saved["trial_ids"] == ["old"]
    resumed = ResumableScheduler(HyperBandScheduler(metric="loss", mode="min", max_t=9))
    resumed.load(saved)
    for made in (trial("old"), trial("gone", Trial.TERMINATED), trial("new", Trial.PENDING)):
        resumed.on_trial_add(None, made)
    inner = resumed.inner
    assert isinstance(inner, HyperBandScheduler)
    assert sorted(t.trial_id for t in inner._trial_info) == ["new", "old"]


def test_a_trial_past_its_time_limit_is_stopped_with_the_reason() -> None:
    limit = TrialTimeLimit(FIFOScheduler(), limit_s=0.0)  # type: ignore[no-untyped-call]
    made = trial("slow")
    result = {"loss": 1.0, "training_iteration": 1}
    assert limit.on_trial_result(None, made, result) == TrialScheduler.CONTINUE  # starts the clock
    assert limit.on_trial_result(None, made, result) == TrialScheduler.STOP
    assert "trial_time_limit_s: stopped after" in compat.trial_note(made, STOP_REASON)


def test_wrappers_nest_and_unwrap_to_rays_scheduler() -> None:
    inner = asha()
    resumable = ResumableScheduler(inner)
    sweep = SteeringScheduler(
        TrialTimeLimit(ConfirmationPassThrough(resumable), 60.0), "memory://nowhere", 4
    )
    assert [type(s).__name__ for s in chain(sweep)] == [
        "SteeringScheduler",
        "TrialTimeLimit",
        "ConfirmationPassThrough",
        "ResumableScheduler",
        "AsyncHyperBandScheduler",
    ]
    assert ray_scheduler(sweep) is inner
    assert find_resumable(sweep) is resumable
    assert find_resumable(FIFOScheduler()) is None  # type: ignore[no-untyped-call]
    assert "confirmation trials run to the end" in sweep.debug_string()
