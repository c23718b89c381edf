# SHIM: moved to caviar.tune.callbacks_results (the Ray adapters) and caviar.results.writer
# (the writer they feed); removed at merge.
from caviar.results.reported import RAY_RESULT_KEYS, user_metrics
from caviar.results.status import TrialRecord
from caviar.tune.callbacks_results import (
    STOP_REASON,
    USER_STOPPED,
    ParquetResultsCallback,
    error_text,
)

__all__ = [
    "RAY_RESULT_KEYS",
    "STOP_REASON",
    "USER_STOPPED",
    "ParquetResultsCallback",
    "TrialRecord",
    "error_text",
    "user_metrics",
]
