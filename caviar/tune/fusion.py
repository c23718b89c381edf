"""``fuse: K`` under Ray Tune: the planning searcher, the sweep-wide ASHA, the trainable.

The plan (which configs go into which bundle) is ``caviar.search.fusion``'s. Under ``asha`` the
sweep has one set of rungs (``caviar.tune.sweep_rungs``: a named Ray actor holding one
``caviar.schedule.Asha``): bundles cut their members inside the bundle by its decisions, and the
driver's scheduler (``SharedASHA``) cuts the sweep's unfused trials by the same rungs. So a config
is cut as it would be in the same sweep unfused, whatever K and whichever bundle it trains in; the
trial config of a bundle names the actor (``RUNGS_KEY``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import AsyncHyperBandScheduler, FIFOScheduler, TrialScheduler

from caviar.search.fusion import (
    AUTO,
    auto_fuse,
    fallback_summary,
    fuses,
    plan_trials,
    stop_rule,
    unfused_note,
)
from caviar.search.plan import planned_count
from caviar.search.streams import total_trials
from caviar.spec.model import SweepSpec
from caviar.trainables.adapter import trainable_config
from caviar.trainables.bundle import MEMBERS_KEY, RUNGS_KEY, STOP_KEY, train_bundle
from caviar.trainables.data import DataSpec, load_dataset
from caviar.trainables.estimator import is_estimator_path
from caviar.tune import compat
from caviar.tune.context import TrialContext, worker_threads
from caviar.tune.schedulers import TIME_ATTR, build_scheduler
from caviar.tune.searchers import SpaceSearcher
from caviar.tune.sweep_rungs import RungsProxy, actor_name, start_rungs, stop_rungs, stored_rows
from caviar.tune.trainable import as_tune_trainable, estimator_tune_trainable

log = logging.getLogger(__name__)

__all__ = [
    "AUTO",
    "BundleAwareASHA",
    "FusedSearcher",
    "SharedASHA",
    "auto_fuse",
    "fallback_summary",
    "fused_scheduler",
    "fused_searcher",
    "fusing",
    "plan_trials",
    "tune_function",
]


class FusedSearcher(SpaceSearcher):
    """Suggests the planned Tune trials: bundles ``{MEMBERS_KEY: [...], STOP_KEY: rule}`` or configs."""

    can_grow = False  # the bundles were planned up front from the sweep's configs

    def __init__(
        self,
        spec: SweepSpec,
        total: int,
        stop_rule: Mapping[str, Any],
        rungs: str | None = None,
    ) -> None:
        super().__init__(
            spec.space,
            seed=spec.seed,
            total=total,
            grid=spec.search.algorithm == "grid",
            repeats=planned_count(spec),
        )
        assert spec.data is not None and spec.fuse is not None
        configs = [self.config_at(i) for i in range(total)]
        plan, self.notes = plan_trials(
            configs, load_dataset(spec.data), spec.fuse, gpu=spec.resources.gpu > 0
        )
        shared = {} if rungs is None else {RUNGS_KEY: rungs}  # the sweep's rungs actor
        self.plan = [
            {**trial, STOP_KEY: dict(stop_rule), **shared} if MEMBERS_KEY in trial else trial
            for trial in plan
        ]
        self.total: int = len(self.plan)

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self.count >= self.total:
            return SpaceSearcher.FINISHED  # type: ignore[no-any-return, return-value]
        trial = self.plan[self.count]
        self.count += 1
        return trial


class SharedASHA(FIFOScheduler):  # type: ignore[misc]
    """The fused sweep's ASHA on the driver: single trials decided by the sweep's one ``Asha``.

    Bundles decide for their members themselves, by the same actor; here bundle trials always
    continue. The actor is created afresh when Tune first asks which trial to run (every
    restored trial added by then) and rebuilt from the curves stored for Tune's trials, so a
    resumed sweep's rungs are the interrupted one's (``caviar.tune.sweep_rungs``).
    """

    def __init__(self, sweep_uri: str, rule: Mapping[str, Any]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.sweep_uri = sweep_uri
        self.rule = dict(rule)
        self.name = actor_name(sweep_uri)
        self._rungs: RungsProxy | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_rungs": None}  # a restored driver starts its own actor

    def rungs(self, tune_controller: Any) -> RungsProxy:
        """The sweep's rungs, started and rebuilt from the store on this driver's first call."""
        if self._rungs is None:
            metric, mode = str(self.rule["metric"]), str(self.rule["mode"])
            options = {k: v for k, v in self.rule.items() if k not in ("metric", "mode")}
            rungs = start_rungs(self.name, metric, mode, options)
            trials = [t.trial_id for t in tune_controller.get_trials()]
            rows, order = stored_rows(self.sweep_uri, metric, trials)
            if rows:
                log.info("asha: rungs rebuilt from %d stored results", len(rows))
            rungs.replay(rows, order)
            self._rungs = rungs
        return self._rungs

    def close(self) -> None:
        """The sweep's fit ended: its rungs actor goes (another fit starts a fresh one)."""
        stop_rungs(self.name)
        self._rungs = None

    def choose_trial_to_run(self, tune_controller: Any) -> Trial | None:
        self.rungs(tune_controller)
        return super().choose_trial_to_run(tune_controller)

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> str:
        if MEMBERS_KEY in trial.config or TIME_ATTR not in result:
            return TrialScheduler.CONTINUE  # type: ignore[no-any-return]
        value = result.get(str(self.rule["metric"]))
        return self.rungs(tune_controller).on_result(trial.trial_id, result[TIME_ATTR], value)

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> None:
        if MEMBERS_KEY in trial.config or not result or TIME_ATTR not in result:
            return
        value = result.get(str(self.rule["metric"]))
        self.rungs(tune_controller).on_complete(trial.trial_id, result[TIME_ATTR], value)

    def debug_string(self) -> str:
        return f"Using the sweep's one ASHA ({self.name}) for bundle members and single trials."


class BundleAwareASHA(AsyncHyperBandScheduler):  # type: ignore[misc]
    """Ray Tune's ASHA for single trials, bundles cutting their members by rungs of their own.

    What fused sweeps ran with before ``SharedASHA``; kept so that their snapshots still restore.
    """

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> str:
        if MEMBERS_KEY in trial.config:
            return TrialScheduler.CONTINUE  # type: ignore[no-any-return]
        return super().on_trial_result(tune_controller, trial, result)  # type: ignore[no-any-return]

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> None:
        if MEMBERS_KEY in trial.config:
            compat.asha_forget(self, trial.trial_id)
            return
        super().on_trial_complete(tune_controller, trial, result)


def fused_scheduler(spec: SweepSpec) -> TrialScheduler:
    """The scheduler of a fused sweep: under asha, the sweep's one ASHA (``SharedASHA``)."""
    if spec.scheduler.name == "asha":
        return SharedASHA(spec.sweep_uri, stop_rule(spec))
    return build_scheduler(spec.scheduler)


def fused_searcher(spec: SweepSpec) -> FusedSearcher:
    """The planning searcher; logs one line on the configs that fall back to unfused trials."""
    total = total_trials(spec.space, spec.search.algorithm, planned_count(spec))
    assert total is not None  # fused bundles are planned up front (spec.rules.until_time_budget)
    rungs = actor_name(spec.sweep_uri) if spec.scheduler.name == "asha" else None
    searcher = FusedSearcher(spec, total, stop_rule(spec), rungs)
    if searcher.notes:
        log.warning("fuse: %s", fallback_summary(searcher.notes, total))
    return searcher


def fusing(spec: SweepSpec) -> bool:
    """Whether this sweep fuses; logs why not when ``fuse:`` is set for a trainable that cannot."""
    note = unfused_note(spec)
    if note is not None:
        log.warning("fuse: %s", note)
    return fuses(spec)


def tune_function(
    trainable: str,
    data: DataSpec | None,
    cpu: float,
    scoring: Sequence[str] = (),
    fused: bool = False,
) -> Callable[..., None]:
    """The Tune function trainable: bundles train fused (``fused``), anything else as the adapter
    runs it; a scikit-learn estimator is scored with ``scoring``."""
    if is_estimator_path(trainable):
        return estimator_tune_trainable(trainable, data, tuple(scoring), cpu)
    single = as_tune_trainable(trainable, data, cpu)
    if not fused:
        return single
    bundle = bundle_trainable(data, cpu)

    def run_trial(config: dict[str, Any], dataset: Any = None) -> None:
        (bundle if MEMBERS_KEY in config else single)(config, dataset)

    run_trial.__name__ = "mlp"
    return run_trial


def bundle_trainable(data: DataSpec | None, cpu: float) -> Callable[..., None]:
    """The Tune function trainable of a bundle: ``train_bundle``, deciding by the sweep's rungs
    when its config names them (``RUNGS_KEY``), its members named as the results name them;
    ``dataset``: the data the driver shipped (see ``caviar.tune.build``)."""

    def run_bundle(config: dict[str, Any], dataset: Any = None) -> None:
        import torch

        torch.set_num_threads(worker_threads(cpu))
        ctx = TrialContext(data, dataset)
        name = config.get(RUNGS_KEY)
        rungs = RungsProxy(str(name)) if name else None
        # Members are "<bundle trial id>_m<k>" in the rungs as in the results (results.fused).
        train_bundle(trainable_config(config), ctx, rungs=rungs, prefix=f"{ctx.trial_id}_m")

    return run_bundle
