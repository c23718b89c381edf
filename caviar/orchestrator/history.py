# SHIM: moved to caviar.spec.history; removed at merge.
from caviar.spec.history import HISTORY, entries, recorded, with_entry, write_recorded

__all__ = ["HISTORY", "entries", "recorded", "with_entry", "write_recorded"]
