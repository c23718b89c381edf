"""Live progress of a sweep: a rich bar on a terminal, a plain line now and then otherwise.

Both show trials done / running / pending, failures, the best value of the sweep metric so far and
an estimate of the time left (from the mean time per finished trial and the trials still to run).
A sweep that samples until its time budget ends has no total: it shows the trials done and the
budget's time left.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

from ray.tune import Callback
from ray.tune.experiment import Trial
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from caviar.objective import Objective, as_mode


class ProgressCallback(Callback):  # type: ignore[misc]
    """Counts trials done/running and the best metric so far, for the person watching."""

    def __init__(
        self,
        total: int | None,
        metric: str,
        mode: str,
        console: Console | None = None,
        budget_s: float | None = None,
    ) -> None:
        self.total = total  # None: until the time budget ends
        self.budget_s = budget_s
        self.metric = metric
        self.objective = Objective(metric, as_mode(mode))
        self.best = math.nan
        self.done = 0
        self.errors = 0
        self._running: set[str] = set()
        self._console = console
        self._progress: Progress | None = None
        self._task: Any = None
        self._last_line = 0.0
        self._started = time.monotonic()

    def __getstate__(self) -> dict[str, Any]:
        # The tuner is pickled for resume; a live terminal display is not part of that state.
        return {**self.__dict__, "_progress": None, "_task": None, "_console": None}

    def setup(self, *args: Any, **info: Any) -> None:
        self._started = time.monotonic()
        console = self._console or Console(stderr=True)
        if console.is_terminal:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn(
                    "{task.completed} trials"
                    if self.total is None
                    else "{task.completed}/{task.total} trials"
                ),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
            )
            self._task = self._progress.add_task("sweep", total=self.total, status="")
            self._progress.start()

    def on_trial_start(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._running.add(trial.trial_id)
        # Trials added while the sweep runs (caviar dashboard) grow the total.
        if self.total is not None:
            self.total = max(self.total, len(trials))
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=self.total)
        self._show()

    def on_trial_result(
        self, iteration: int, trials: list[Trial], trial: Trial, result: dict[str, Any], **info: Any
    ) -> None:
        value = result.get(self.metric)
        if not isinstance(value, int | float) or not math.isfinite(value):
            return
        if self.objective.better(float(value), self.best):
            self.best = float(value)
            self._show()

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._finish(trial)

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.errors += 1
        self._finish(trial)

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        self._show(force=True)
        if self._progress is not None:
            self._progress.stop()

    def _finish(self, trial: Trial) -> None:
        self._running.discard(trial.trial_id)
        self.done += 1
        self._show()

    @property
    def pending(self) -> int:
        if self.total is None:
            return 0  # the searcher suggests as trials start: none waits to be drawn
        return max(0, self.total - self.done - len(self._running))

    def status(self) -> str:
        best = "-" if math.isnan(self.best) else f"{self.best:.4g}"
        errors = f", {self.errors} failed" if self.errors else ""
        return (
            f"{len(self._running)} running, {self.pending} pending{errors}, "
            f"best {self.metric} {best}"
        )

    def eta_seconds(self, now: float | None = None) -> float | None:
        """Time left: trials still to finish at the pace of those finished so far (None before one);
        without a total, what is left of the time budget."""
        elapsed = (time.monotonic() if now is None else now) - self._started
        if self.total is None:
            return None if self.budget_s is None else max(0.0, self.budget_s - elapsed)
        if self.done == 0:
            return None
        return elapsed / self.done * max(0, self.total - self.done)

    def line(self) -> str:
        """The plain progress line (no terminal)."""
        eta = self.eta_seconds()
        left = "" if eta is None else f", about {_duration(eta)} left"
        done = f"{self.done}" if self.total is None else f"{self.done}/{self.total}"
        return f"caviar: {done} trials done, {self.status()}{left}"

    def _show(self, force: bool = False) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=self.done, status=self.status())
            return
        now = time.monotonic()
        if force or now - self._last_line > 10:
            self._last_line = now
            print(self.line(), file=sys.stderr)


def _duration(value: float) -> str:
    seconds = round(value)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
