# SHIM: moved to caviar.spec; removed at merge.
"""Old path of the sweep spec (now ``caviar.spec``): re-exports the names other modules import.

``SchedulerSpec(name, options)`` and ``SearchSpec(algorithm=..., num_samples=..., **options)`` keep
their old call forms here (they build the typed variant: ``caviar.spec.scheduler_spec`` and
``search_spec``); as types they are the bases of the variants.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from caviar.spec.load import apply_override, load_spec
from caviar.spec.model import ConfirmSpec, Resources, SweepSpec, scheduler_spec, search_spec
from caviar.spec.packages import LOGGER_INSTALL, LOGGERS
from caviar.spec.parse import TOP_KEYS, parse_spec

if TYPE_CHECKING:
    from caviar.spec.model import SchedulerSpec, SearchSpec
else:

    def SearchSpec(algorithm: str = "random", num_samples: int = 16, **options: Any) -> Any:
        return search_spec(algorithm, num_samples, **options)

    def SchedulerSpec(name: str = "fifo", options: Mapping[str, Any] | None = None) -> Any:
        return scheduler_spec(name, options)


__all__ = [
    "LOGGERS",
    "LOGGER_INSTALL",
    "TOP_KEYS",
    "ConfirmSpec",
    "Resources",
    "SchedulerSpec",
    "SearchSpec",
    "SweepSpec",
    "apply_override",
    "load_spec",
    "parse_spec",
]
