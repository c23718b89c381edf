"""Results: every reported result in Parquet and the readers. The writer is fed plain values
(by the tuner's callbacks in ``caviar.tune.callbacks_results``): no Ray Tune in this package."""

from caviar.results.readers import read_curves, read_trials
from caviar.results.store import SweepStore

__all__ = ["SweepStore", "read_curves", "read_trials"]
