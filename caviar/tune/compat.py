"""The settings of a restored Tuner that growing a sweep changes (the one private Ray name used).

``Tuner.restore`` takes no ``TuneConfig``: the search algorithm, the scheduler and the time budget
come back from the pickle Tune wrote when the sweep started. ``caviar extend`` must raise the
search's budget (and may set a new time budget), ``caviar continue`` must let the chosen trials
train past the scheduler's ``max_t``; Ray offers no public way to do either, so this reaches the
restored ``TuneConfig`` through ``Tuner._local_tuner`` (Ray 2.60; tests/grow/test_extend.py
checks it is still there).
"""

from __future__ import annotations

from typing import Any


def restored_tune_config(tuner: Any) -> Any:
    """The ``TuneConfig`` a restored ``tune.Tuner`` will run with (changed in place)."""
    from ray import tune

    config = getattr(getattr(tuner, "_local_tuner", None), "_tune_config", None)
    if not isinstance(config, tune.TuneConfig):
        raise RuntimeError(
            "this Ray's Tuner keeps its TuneConfig elsewhere; growing a sweep needs Ray 2.60's"
        )
    return config
