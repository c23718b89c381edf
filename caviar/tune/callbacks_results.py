"""The Ray Tune callbacks on the driver that feed the results writer (``caviar.results.writer``).

Thin adapters: each hook turns Ray's ``Trial`` and result dict into plain values (trial id,
config, ``Reported``, the exception line) and calls the writer, which decides everything else.
Tune pickles its callbacks when the sweep starts and restores them from that pickle on resume; the
writer pickles its configuration only and rebuilds its state from storage in ``setup``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from ray.tune import Callback
from ray.tune.experiment import Trial

from caviar.results import fused
from caviar.results.reported import parse_result
from caviar.results.store import SweepStore
from caviar.results.tracebacks import error_line
from caviar.results.writer import KnownTrial, ResultsWriter
from caviar.tune.compat import trial_note

# A trial that caviar stopped for a reason of its own (a time limit) carries it in this attribute;
# Tune calls it TERMINATED, the trials table records it as ERROR with that reason.
STOP_REASON = "caviar_stop_reason"
# A trial stopped at a person's request (`caviar trial stop`, the dashboard) carries this one;
# Tune calls it TERMINATED, the trials table records it as STOPPED (stopped early, rows kept).
USER_STOPPED = "caviar_user_stopped"


def ending(trial: Trial) -> dict[str, Any]:
    """Why a completed trial ended, as the writer's ``complete`` takes it: the stop reason and
    whether a person stopped it (notes the limits and steering left on the Trial)."""
    return {
        "stop_reason": trial_note(trial, STOP_REASON),
        "user_stopped": bool(trial_note(trial, USER_STOPPED, False)),
    }


class ParquetResultsCallback(Callback):  # type: ignore[misc]
    """Hands every trial event to a ``ResultsWriter``, in plain values.

    One event Tune does not send: when the sweep's time budget runs out, Tune marks every live
    trial TERMINATED within a step of its loop and tells no callback. So the trials started and
    not ended are watched, and at the end of each step those Tune ended that way are halted
    (STOPPED). An interrupt (Ctrl-C) ends Tune's loop between steps instead: its trials stay
    RUNNING, for ``caviar resume``.
    """

    def __init__(self, writer: ResultsWriter) -> None:
        self.writer = writer
        self._live: dict[str, Trial] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_live": {}}  # Trials belong to one run of the tuner

    @property
    def store(self) -> SweepStore:
        """The sweep's store (the writer's)."""
        return self.writer.store

    def setup(self, *args: Any, **info: Any) -> None:
        self.writer.reset()
        self.writer.load()
        self._live = {}

    def on_trial_start(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._live[trial.trial_id] = trial
        self.writer.start(trial.trial_id, trial.config)

    def on_trial_result(
        self, iteration: int, trials: list[Trial], trial: Trial, result: dict[str, Any], **info: Any
    ) -> None:
        self.writer.report(trial.trial_id, trial.config, parse_result(result))

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._live.pop(trial.trial_id, None)
        self.writer.complete(
            trial.trial_id,
            trial.config,
            **ending(trial),
        )

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._live.pop(trial.trial_id, None)
        self.writer.fail(trial.trial_id, trial.config, error_text(trial))

    def on_step_end(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        for trial_id, trial in list(self._live.items()):
            if trial.status == Trial.TERMINATED:  # ended by Tune, untold: the time budget
                del self._live[trial_id]
                self.halt(trial)
        self.writer.step_end()  # raises the SweepFailed a trial's end found

    def halt(self, trial: Trial) -> None:
        """Tune stopped ``trial`` when the sweep's time budget ran out."""
        self.writer.halt(trial.trial_id, trial.config)

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        known = known_trials(trials)
        cut_short = self.writer.end(known)
        ended = {t.trial_id for t in trials if t.status in (Trial.TERMINATED, Trial.ERROR)}
        self.store.prune_checkpoints(ended - cut_short)

    def get_state(self) -> dict[str, Any] | None:
        self.writer.snapshot()  # Tune is saving the snapshot a resume restarts from
        return None

    def flush(self) -> None:
        self.writer.flush()


class FusedResultsCallback(ParquetResultsCallback):
    """``ParquetResultsCallback`` with bundles split into their members (``results.fused``)."""

    def on_trial_start(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._live[trial.trial_id] = trial
        fused.start(self.writer, trial.trial_id, trial.config)

    def on_trial_result(
        self, iteration: int, trials: list[Trial], trial: Trial, result: dict[str, Any], **info: Any
    ) -> None:
        fused.report(self.writer, trial.trial_id, trial.config, result)

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._live.pop(trial.trial_id, None)
        fused.complete(
            self.writer,
            trial.trial_id,
            trial.config,
            **ending(trial),
        )

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._live.pop(trial.trial_id, None)
        fused.fail(self.writer, trial.trial_id, trial.config, error_text(trial))

    def halt(self, trial: Trial) -> None:
        fused.halt(self.writer, trial.trial_id, trial.config)

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        known = known_trials(trials)
        expanded = fused.expand(self.writer, known)
        cut_short = self.writer.end(expanded)
        singles = [t for t in known if not fused.is_bundle(t.config)]
        ended = {t.trial_id for t in singles if t.status in (Trial.TERMINATED, Trial.ERROR)}
        # Checkpoints live under the bundle's id, not its members': prune the bundles that ended.
        self.store.prune_checkpoints((ended - cut_short) | fused.ended_bundles(known, cut_short))


def known_trials(trials: Sequence[Trial]) -> list[KnownTrial]:
    """The tuner's trials as plain values: id, config, Tune's own status."""
    return [KnownTrial(t.trial_id, dict(t.config), str(t.status)) for t in trials]


def error_text(trial: Trial) -> str:
    """The line of the trial's traceback that names the exception (``tracebacks.error_line``)."""
    text: object = None
    with contextlib.suppress(Exception):  # the error file may not be readable from here
        text = trial.get_error()
    return error_line(text or _error_file_text(trial))


def _error_file_text(trial: Trial) -> str | None:
    """The error.txt Tune wrote for the trial: first on the driver (Tune copies it to storage
    later, so ``Trial.get_error`` does not find it yet), else on storage (restore failures)."""
    with contextlib.suppress(Exception):
        local = trial.error_file
        if local:
            with open(local) as file:
                return file.read()
    try:
        storage = trial.storage
        if storage is None:
            return None
        path = f"{storage.trial_fs_path}/error.txt"
        with storage.storage_filesystem.open_input_stream(path) as stream:
            return bytes(stream.read()).decode(errors="replace")
    except Exception:
        return None
