# SHIM: moved to caviar.tune.run; removed at merge.
from caviar.tune.run import (
    SweepOutcome,
    has_tune_state,
    planned_trials,
    prepare,
    resume_sweep,
    run_sweep,
    tune_statuses,
)

__all__ = [
    "SweepOutcome",
    "has_tune_state",
    "planned_trials",
    "prepare",
    "resume_sweep",
    "run_sweep",
    "tune_statuses",
]
