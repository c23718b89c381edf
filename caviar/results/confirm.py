# SHIM: moved to caviar.analysis.confirm; removed at merge.
from caviar.analysis.confirm import CONFIRM_COLUMN, read_confirmations, summarize_confirmations

__all__ = ["CONFIRM_COLUMN", "read_confirmations", "summarize_confirmations"]
