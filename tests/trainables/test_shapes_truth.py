"""The fault tests' ground truth (tests/trainables/shapes.py ``final_runs``) on hand-made logs."""

from __future__ import annotations

from tests.trainables.shapes import final_runs


def test_the_final_run_stands_and_restores_fill_in_below_it() -> None:
    lines = [
        "start,t,1,7", "t,1,7", "start,t,2,7", "t,2,7",  # run 7 reports 1 and 2 (checkpoints)
        "start,t,3,7",  # run 7 is killed before its report of 3 reaches Tune
        "start,t,3,8", "restored,t,2,7", "t,3,8",  # run 8 restores 2 and reports 3
        "start,t,4,8",  # paused right after reporting 4: the report never returned ...
        "start,t,5,9", "restored,t,4,8", "t,5,9",  # ... but run 9 restored the checkpoint of it
    ]  # fmt: skip
    assert final_runs(lines) == {("t", 1): 7, ("t", 2): 7, ("t", 3): 8, ("t", 4): 8, ("t", 5): 9}


def test_a_trial_that_never_checkpoints_keeps_only_its_last_runs_reports() -> None:
    lines = ["start,t,1,7", "t,1,7", "start,t,2,7", "start,t,1,8", "t,1,8", "start,t,2,8", "t,2,8"]
    assert final_runs(lines) == {("t", 1): 8, ("t", 2): 8}


def test_a_checkpoint_cloned_from_another_trial_says_nothing_of_this_trials_reports() -> None:
    lines = [
        "start,a,1,1", "a,1,1", "start,a,2,1", "a,2,1",  # the donor reports 1 and 2
        "start,b,1,2", "b,1,2", "start,b,2,2",  # b reports 1; its report of 2 never returns
        "restored,b,2,1", "start,b,3,3", "b,3,3",  # PBT: b continues from a's checkpoint at 2
    ]  # fmt: skip
    assert final_runs(lines) == {("a", 1): 1, ("a", 2): 1, ("b", 1): 2, ("b", 3): 3}
