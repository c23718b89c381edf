"""Results: every reported result in Parquet (a Tune callback on the driver), and the readers."""

from caviar.results.readers import read_curves, read_trials
from caviar.results.store import SweepStore

__all__ = ["SweepStore", "read_curves", "read_trials"]
