# SHIM: moved to caviar.tune.resume_guards; removed at merge.
from caviar.tune.resume_guards import (
    RESUME_MAY_CHANGE,
    check_resumable,
    check_resume,
    refuse_rerun_over_results,
)

__all__ = ["RESUME_MAY_CHANGE", "check_resumable", "check_resume", "refuse_rerun_over_results"]
