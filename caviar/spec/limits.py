"""Range checks of a spec that Ray, NumPy or Parquet would otherwise fail on late, or never.

Each one runs before anything is written: numbers that are not finite, integers beyond 64 bits,
seeds beyond 32 bits, fractional resources finer than Ray's 0.0001, synthetic data that cannot
fit in memory, and names that would overwrite the columns caviar writes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from caviar.errors import SpecError, shown
from caviar.results.columns import RESERVED_COLUMNS, is_reserved
from caviar.trainables.data import DataSpec

__all__ = ["RESERVED_COLUMNS"]

INT64 = (-(2**63), 2**63 - 1)
MAX_SEED = 2**32 - 1  # numpy.random.RandomState and Optuna's samplers take no larger seed
MAX_CONFIRM = 100  # confirm.top_k and confirm.seeds: the re-runs are top_k * seeds trials
MAX_DATA_VALUES = 100_000_000  # synthetic data: n_samples * n_features (800 MB as float64)
RESOURCE_STEP = 1e-4  # Ray rounds fractional resources to 0.0001 and refuses finer ones


def check_number(path: str, value: Any) -> None:
    """A float must be finite, an integer must fit in 64 bits (a Parquet int64 column)."""
    if isinstance(value, bool):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(path, f"must be a finite number, got {value}")
    if isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
        raise SpecError(path, f"must fit in a 64-bit integer (|value| < 2**63), got {shown(value)}")


def check_numbers(raw: Mapping[str, Any]) -> None:
    """Every number anywhere in the spec: finite and within 64 bits (see ``check_number``)."""
    stack: list[tuple[str, Any]] = [("", raw)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
        elif isinstance(value, list | tuple):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(value))
        else:
            check_number(path, value)


def check_resource_precision(path: str, amount: float) -> None:
    """Ray takes fractional CPUs/GPUs in steps of 0.0001 and fails the trial on finer ones."""
    steps = amount / RESOURCE_STEP
    if amount and (amount < RESOURCE_STEP or abs(steps - round(steps)) > 1e-6):
        raise SpecError(path, f"must be a multiple of 0.0001 (Ray's precision), got {amount:g}")


def check_data_size(data: DataSpec) -> None:
    """Synthetic data is made in memory on every worker: refuse sizes that cannot fit."""
    if data.path is not None:
        return
    values = data.n_samples * data.n_features
    if values > MAX_DATA_VALUES:
        raise SpecError(
            "data",
            f"n_samples * n_features = {values:,} values ({values * 8 / 1e9:,.1f} GB as float64) "
            f"cannot fit in memory; at most {MAX_DATA_VALUES:,}",
        )


def check_metric_name(metric: str, path: str = "metric") -> None:
    """The sweep's metric must not be a column caviar writes itself (``status``, ``iteration``)."""
    if is_reserved(metric):
        raise SpecError(
            path,
            f"{shown(metric)} is a column caviar writes itself "
            f"(reserved: {', '.join(sorted(RESERVED_COLUMNS))}, best_*, test_*); report it under another name",
        )
