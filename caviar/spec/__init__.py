"""The sweep spec: typed, frozen objects (``model``), checked field by field (``fields``,
``sections``) and across fields (``rules``), read from YAML with ``--set`` overrides (``load``).

The package imports no Ray: Ray's scheduler defaults reach the resolved spec from
``caviar.tune.resolved``.
"""

from caviar.spec.load import apply_override, load_spec
from caviar.spec.model import (
    AshaSpec,
    CoarseToFineSearch,
    ConfirmSpec,
    FifoSpec,
    GridSearch,
    HyperBandSpec,
    MedianSpec,
    Nsga2Search,
    PbtSpec,
    RandomSearch,
    Resources,
    SchedulerSpec,
    SearchSpec,
    SweepSpec,
    TpeSearch,
    scheduler_spec,
    search_spec,
)
from caviar.spec.parse import parse_spec

__all__ = [
    "AshaSpec",
    "CoarseToFineSearch",
    "ConfirmSpec",
    "FifoSpec",
    "GridSearch",
    "HyperBandSpec",
    "MedianSpec",
    "Nsga2Search",
    "PbtSpec",
    "RandomSearch",
    "Resources",
    "SchedulerSpec",
    "SearchSpec",
    "SweepSpec",
    "TpeSearch",
    "apply_override",
    "load_spec",
    "parse_spec",
    "scheduler_spec",
    "search_spec",
]
