"""The spec's ``scheduler:`` as one of Ray Tune's own early-stopping schedulers.

Everything is Ray's: ASHA, HyperBand, the median stopping rule and PBT. caviar adds three small
pieces around them: PBT's explore step perturbs each hyperparameter on its own scale and within its
bounds (``SpaceExplorer``, Ray's documented ``custom_explore_fn`` hook), confirmation trials
(``confirm:``) bypass early stopping (``ConfirmationPassThrough``) so they all train to the end,
and a HyperBand bracket that finished without stopping the trials it had paused stops them
(``BracketEnd``; Ray's keeps them paused when its last other trial completes, and the sweep
never ends).
Every wrapper is a ``caviar.tune.wrappers.SchedulerWrapper``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from ray.tune import Callback
from ray.tune.experiment import Trial
from ray.tune.schedulers import (
    AsyncHyperBandScheduler,
    FIFOScheduler,
    HyperBandScheduler,
    MedianStoppingRule,
    PopulationBasedTraining,
    TrialScheduler,
)

from caviar.search_spaces import Choice, Constant, Distribution, Float, Integer, Space
from caviar.search_spaces.distributions import to_python
from caviar.spec.model import SchedulerSpec
from caviar.trainables.adapter import CONFIRM_KEY
from caviar.tune import compat
from caviar.tune.resumable import ResumableScheduler, find_resumable
from caviar.tune.wrappers import SchedulerWrapper, ray_scheduler

__all__ = [
    "TIME_ATTR",
    "BracketEnd",
    "ConfirmationPassThrough",
    "SchedulerStateCallback",
    "SpaceExplorer",
    "build_scheduler",
    "perturb",
    "ray_scheduler",
    "rung_milestones",
]

TIME_ATTR = "training_iteration"


def build_scheduler(
    spec: SchedulerSpec, space: Space | None = None, seed: int = 0, confirm: bool = False
) -> TrialScheduler:
    """Ray Tune's scheduler for ``spec``, cutting by reported iterations (epochs).

    Metric and mode come from the TuneConfig, which hands them to the scheduler. With ``confirm``
    the scheduler is wrapped so that confirmation trials are never stopped early.
    """
    scheduler = _ray_scheduler(spec, space, seed)
    if spec.name != "fifo":
        scheduler = ResumableScheduler(scheduler)
    if spec.name == "hyperband":
        scheduler = BracketEnd(scheduler)
    if confirm and spec.name != "fifo":
        return ConfirmationPassThrough(scheduler)
    return scheduler


def _ray_scheduler(spec: SchedulerSpec, space: Space | None, seed: int) -> TrialScheduler:
    options = dict(spec.options)
    if spec.name == "asha":
        return AsyncHyperBandScheduler(time_attr=TIME_ATTR, **options)
    if spec.name == "hyperband":
        return HyperBandScheduler(time_attr=TIME_ATTR, **options)
    if spec.name == "median":
        return MedianStoppingRule(time_attr=TIME_ATTR, **options)
    if spec.name == "pbt":
        if space is None:
            raise ValueError("pbt: needs the space to perturb within")
        explorer = SpaceExplorer(
            space,
            options.pop("hyperparam_mutations"),
            resample_probability=float(options.pop("resample_probability", 0.25)),
            factors=tuple(options.pop("perturbation_factors", (1.2, 0.8))),
            seed=seed,
        )
        return PopulationBasedTraining(
            time_attr=TIME_ATTR,
            custom_explore_fn=explorer,
            log_config=False,
            **options,
        )
    return FIFOScheduler()  # type: ignore[no-untyped-call]


def rung_milestones(scheduler: Mapping[str, Any]) -> list[int]:
    """The iterations at which a resolved ASHA or HyperBand scheduler decides, as Ray computes them.

    ASHA: the rungs of Ray's own ``_Bracket`` for each bracket. HyperBand: each band's first
    milestone from Ray's ``HyperBandScheduler`` and its growth by ``reduction_factor`` up to
    ``max_t``, as Ray's HyperBand bracket advances. Other schedulers have no rungs.
    """
    name = scheduler.get("name")
    max_t = int(scheduler.get("max_t") or 0)
    factor = float(scheduler.get("reduction_factor") or 0)
    if name not in ("asha", "hyperband") or max_t <= 0 or factor <= 1:
        return []
    found: set[int] = set()
    if name == "asha":
        grace = int(scheduler.get("grace_period") or 1)
        for s in range(int(scheduler.get("brackets") or 1)):
            found.update(compat.asha_rungs(grace, max_t, factor, s))
    else:
        for r in compat.hyperband_first_milestones(max_t, factor):
            while 0 < r < max_t:
                found.add(r)
                r = int(min(r * factor, max_t))
    return sorted(m for m in found if m <= max_t)


def perturb(dist: Distribution, value: Any, factor: float) -> Any:
    """``value`` moved by ``factor`` on the distribution's own scale, kept inside its bounds.

    Linear and log floats and integers are multiplied (log-uniform: a step in log space);
    a reverse_loguniform ``x`` has ``1 - x`` multiplied, so 0.99 becomes 0.988 or 0.992, never
    above 1. Stepped, integer and power-of-two values land back on their grid.
    """
    if isinstance(dist, Float):
        if dist.scale == "reverse_log":
            moved = 1.0 - (1.0 - float(value)) * factor
        else:
            moved = float(value) * factor
        moved = float(np.clip(moved, dist.low, dist.high))
        if dist.step is not None:
            moved = float(dist.from_unit(dist.to_unit(np.array([moved])))[0])
        return moved
    if isinstance(dist, Integer):
        moved_f = float(np.clip(float(value) * factor, dist.low, dist.high))
        if int(value) == round(moved_f) and factor != 1:  # small integers must still move
            moved_f = float(np.clip(int(value) + (1 if factor > 1 else -1), dist.low, dist.high))
        return to_python(dist.from_unit(dist.to_unit(np.array([moved_f])))[0])
    raise ValueError(f"perturb: {dist!r} is not a float or integer distribution")


class SpaceExplorer:
    """PBT's explore step on a caviar Space (Ray's ``custom_explore_fn``).

    Ray's own explore multiplies values by 1.2 or 0.8 on a linear scale and resamples with Ray's
    global RNG; this one perturbs each named parameter on its own scale within its bounds
    (``perturb``), resamples with ``resample_probability`` from the parameter's distribution, shifts
    a choice to a neighbouring value, and fixes conditional parameters whose condition changed.
    Seeded, and picklable for resume.
    """

    def __init__(
        self,
        space: Space,
        names: Sequence[str],
        resample_probability: float = 0.25,
        factors: tuple[float, ...] = (1.2, 0.8),
        seed: int = 0,
    ) -> None:
        self.space = space
        self.names = tuple(names)
        self.resample_probability = resample_probability
        self.factors = factors
        self.rng = np.random.default_rng([seed, 3])

    def __call__(self, config: Mapping[str, Any]) -> dict[str, Any]:
        new = dict(config)
        for name in self.names:
            param = self.space.params[name]
            if new.get(name) is None or not param.active(new):
                continue
            dist = param.distribution
            if self.rng.random() < self.resample_probability:
                new[name] = dist.sample_one(self.rng)
            elif isinstance(dist, Choice):
                values = list(dist.values)
                index = values.index(new[name]) if new[name] in values else 0
                step = int(self.rng.choice([-1, 1]))
                new[name] = values[min(max(index + step, 0), len(values) - 1)]
            elif not isinstance(dist, Constant):
                new[name] = perturb(dist, new[name], float(self.rng.choice(self.factors)))
        for name, param in self.space.params.items():  # conditions may have changed
            if name not in config:
                continue
            if not param.active(new):
                new[name] = None
            elif new.get(name) is None:
                new[name] = param.distribution.sample_one(self.rng)
        return new


class BracketEnd(SchedulerWrapper):
    """HyperBand whose brackets always end: when Tune looks for a trial to run and HyperBand has
    none, a finished bracket's paused trials are stopped, as Ray stops them when the bracket
    finishes on a result (see ``compat.end_finished_brackets``)."""

    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        chosen = super().choose_trial_to_run(tune_controller)
        if chosen is None and compat.end_finished_brackets(ray_scheduler(self), tune_controller):
            chosen = super().choose_trial_to_run(tune_controller)
        return chosen


def is_confirmation(trial: Trial) -> bool:
    return bool(trial.config.get(CONFIRM_KEY))


class ConfirmationPassThrough(SchedulerWrapper):
    """Confirmation trials (re-trainings of the winners with fresh seeds) run to the end.

    The early-stopping rule neither cuts them nor counts them in its rungs; every decision about
    the other trials is the wrapped scheduler's.
    """

    note = "confirmation trials run to the end"
    lets_trials_pass = True

    def passes(self, trial: Trial) -> bool:
        return is_confirmation(trial)


class SchedulerStateCallback(Callback):  # type: ignore[misc]
    """Saves the scheduler's decision state with every Tune snapshot and restores it on resume.

    Ray Tune snapshots its searcher and callbacks but not its scheduler. Tune restores callbacks
    before it re-adds the trials, and the scheduler and this callback come back from one pickle, so
    the restored state lands in the scheduler Tune uses (``ResumableScheduler``, for every
    scheduler: ASHA, HyperBand, median, PBT).
    """

    def __init__(self, scheduler: TrialScheduler) -> None:
        self.scheduler = scheduler

    def _target(self) -> ResumableScheduler | None:
        return find_resumable(self.scheduler)

    def get_state(self) -> dict[str, Any] | None:
        target = self._target()
        return None if target is None else {"scheduler": target.state()}

    def set_state(self, state: dict[str, Any]) -> None:
        target = self._target()
        if target is not None and "scheduler" in state:
            target.load(state["scheduler"])

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        """The fit ended: a scheduler holding something outside the driver lets it go
        (the fused sweep's rungs actor, ``fusion.SharedASHA.close``)."""
        from caviar.tune.wrappers import chain

        for scheduler in chain(self.scheduler):
            close = getattr(type(scheduler), "close", None)
            if callable(close):
                close(scheduler)
