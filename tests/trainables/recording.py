"""A TrialContext that records reports and checkpoints in memory instead of handing them to Ray."""

from __future__ import annotations

import copy
from typing import Any

from caviar.trainables.data import DataSpec
from caviar.tune.context import TrialContext


class RecordingContext(TrialContext):
    """The real TrialContext with only Ray's side swapped: reports and checkpoints go to lists."""

    def __init__(self, data_spec: DataSpec, saved: tuple[int, Any] | None = None) -> None:
        super().__init__(data_spec)
        self.reports: list[dict[str, Any]] = []
        self.checkpoints: list[tuple[int, Any]] = []
        self._saved = saved

    def restore(self) -> Any:
        if self._saved is None:
            return None
        self.iteration = self._saved[0]
        return copy.deepcopy(self._saved[1])

    def _send(self, metrics: dict[str, Any], state: Any) -> None:
        self.reports.append(metrics)
        if state is not None:
            self.checkpoints.append((self.iteration, copy.deepcopy(state)))
