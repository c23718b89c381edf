"""The live path: a Ray Tune callback on the driver that feeds the trackers as results arrive.

It reads each result as the Parquet callback does (``reported.parse_result``: the same metrics,
iteration and report time), so a tracker shows what trials.parquet and the curves hold, and what
``caviar export`` replays from them. Tune pickles its callbacks when the sweep starts; the
writers are made in ``setup``, never pickled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from ray.tune import Callback
from ray.tune.experiment import Trial

from caviar.results.reported import parse_result
from caviar.results.trackers.base import FAILED, FINISHED, Sink, numeric_metrics, plain_params
from caviar.tune.callbacks_results import STOP_REASON, error_text
from caviar.tune.compat import trial_note

logger = logging.getLogger(__name__)


class TrackerCallback(Callback):  # type: ignore[misc]
    """Sends every trial's params, rows, status and error to the sinks ``factories`` make."""

    def __init__(self, factories: Sequence[Callable[[], Sink]]) -> None:
        self.factories = list(factories)
        self._sinks: list[Sink] = []
        self._started: set[str] = set()
        self._ended: set[str] = set()

    def __getstate__(self) -> dict[str, Any]:
        return {"factories": self.factories}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["factories"])  # type: ignore[misc]

    def setup(self, *args: Any, **info: Any) -> None:
        self._sinks = [make() for make in self.factories]
        for sink in self._sinks:
            sink.open()

    def on_trial_start(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._started.add(trial.trial_id)
        self._ended.discard(trial.trial_id)
        params = plain_params(trial.config)
        for sink in self._sinks:
            sink.start_trial(trial.trial_id, params)

    def on_trial_result(
        self, iteration: int, trials: list[Trial], trial: Trial, result: dict[str, Any], **info: Any
    ) -> None:
        reported = parse_result(result)
        metrics = numeric_metrics(reported.metrics)
        when = reported.timestamp.timestamp()  # the report time, as the curves row records it
        for sink in self._sinks:
            sink.log(trial.trial_id, reported.iteration, metrics, when)

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        reason = trial_note(trial, STOP_REASON)
        self._end(trial, FAILED if reason else FINISHED, reason)

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._end(trial, FAILED, error_text(trial))

    def _end(self, trial: Trial, status: str, error: str | None) -> None:
        self._ended.add(trial.trial_id)
        for sink in self._sinks:
            sink.end_trial(trial.trial_id, status, error)

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        cut_short = self._started - self._ended  # Ctrl-C: `caviar resume` continues them
        for sink in self._sinks:
            sink.close(interrupted=bool(cut_short))
