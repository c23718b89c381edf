"""``fuse: K``: the sweep's sampled configs grouped into bundles that train as one Ray Tune trial.

The searcher draws the same configs, in the same order and with the same seeds, as an unfused sweep
(``SpaceSearcher.config_at``); here they are planned up front into Tune trials: configs sharing
``fused.bundle_key`` (layers, hidden units, activation, batch size, optimizer) go into bundles of up
to K, in sampling order, and configs that cannot be fused run as ordinary trials. Each member of a
bundle is its own trial in the results (``<bundle trial id>_m<k>``, see
``caviar.results.fused``), and the sweep's ASHA rule cuts members inside their bundle, so Tune's
own ASHA leaves bundle trials alone (``BundleAwareASHA``).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import AsyncHyperBandScheduler, TrialScheduler

from caviar.orchestrator.resumable import ResumableScheduler
from caviar.orchestrator.schedulers import TIME_ATTR, build_scheduler
from caviar.orchestrator.searchers import SpaceSearcher, total_trials
from caviar.orchestrator.spec import SweepSpec
from caviar.trainables.adapter import BUILTIN, as_tune_trainable
from caviar.trainables.bundle import MEMBERS_KEY, STOP_KEY
from caviar.trainables.data import Dataset, load_dataset
from caviar.trainables.estimator import estimator_tune_trainable, is_estimator_path
from caviar.trainables.fused import bundle_key, param_count, unfusable_reason

AUTO = "auto"
# fuse: auto aims each fused step at about this much arithmetic (multiply-adds, forward+backward):
# enough to amortize a step's fixed Python and kernel-launch cost. On a CPU core a 2 x 64 MLP with
# batch 64 (2.2e6 per member) kept gaining per member up to K = 32 (benchmarks/fused.py).
AUTO_WORK = {"cpu": 8e7, "gpu": 2e9}
AUTO_MAX = {"cpu": 32, "gpu": 256}


def auto_fuse(config: Mapping[str, Any], data: Dataset, gpu: bool) -> int:
    """K for ``fuse: auto``: how many members of this shape make one step worth its overhead."""
    n_outputs = data.n_classes if data.task == "classification" else 1
    batch = int(config.get("batch_size", 64))
    work = 6 * param_count(config, data.n_features, n_outputs) * batch
    kind = "gpu" if gpu else "cpu"
    return max(2, min(AUTO_MAX[kind], int(AUTO_WORK[kind] // max(1, work))))


def plan_trials(
    configs: list[dict[str, Any]], data: Dataset, fuse: int | str, gpu: bool = False
) -> tuple[list[dict[str, Any]], list[str]]:
    """The Tune trial configs (bundles and single trials) for ``configs``, and notes on fallbacks."""
    notes: list[str] = []
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    order: list[tuple[Any, ...] | int] = []
    for index, config in enumerate(configs):
        reason = unfusable_reason(config, data)
        if reason is not None:
            notes.append(f"trial {index} runs unfused: {reason}")
            order.append(index)
            continue
        key = bundle_key(config)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(config)
    planned: list[dict[str, Any]] = []
    for item in order:
        if isinstance(item, int):
            planned.append(configs[item])
            continue
        members = groups[item]
        size = auto_fuse(members[0], data, gpu) if fuse == AUTO else int(fuse)
        for first in range(0, len(members), size):
            chunk = members[first : first + size]
            planned.append(chunk[0] if len(chunk) == 1 else {MEMBERS_KEY: chunk})
    return planned, notes


class FusedSearcher(SpaceSearcher):
    """Suggests the planned Tune trials: bundles ``{MEMBERS_KEY: [...], STOP_KEY: rule}`` or configs."""

    def __init__(self, spec: SweepSpec, total: int, stop_rule: Mapping[str, Any]) -> None:
        super().__init__(
            spec.space,
            seed=spec.seed,
            total=total,
            grid=spec.search.algorithm == "grid",
            repeats=spec.search.num_samples,
        )
        assert spec.data is not None and spec.fuse is not None
        configs = [self.config_at(i) for i in range(total)]
        plan, self.notes = plan_trials(
            configs, load_dataset(spec.data), spec.fuse, gpu=spec.resources.gpu > 0
        )
        self.plan = [
            {**trial, STOP_KEY: dict(stop_rule)} if MEMBERS_KEY in trial else trial
            for trial in plan
        ]
        self.total = len(self.plan)

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self.count >= self.total:
            return SpaceSearcher.FINISHED  # type: ignore[no-any-return, return-value]
        trial = self.plan[self.count]
        self.count += 1
        return trial


class BundleAwareASHA(AsyncHyperBandScheduler):  # type: ignore[misc]
    """Ray Tune's ASHA for single trials; bundles apply the same rule to their members themselves."""

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> str:
        if MEMBERS_KEY in trial.config:
            return TrialScheduler.CONTINUE  # type: ignore[no-any-return]
        return super().on_trial_result(tune_controller, trial, result)  # type: ignore[no-any-return]

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> None:
        if MEMBERS_KEY in trial.config:
            self._trial_info.pop(trial.trial_id, None)
            return
        super().on_trial_complete(tune_controller, trial, result)


def stop_rule(spec: SweepSpec) -> dict[str, Any]:
    """The scheduler's rule as bundles apply it to their members: ASHA's options, or none."""
    if spec.scheduler.name != "asha":
        return {}
    return {"metric": spec.metric, "mode": spec.mode, **spec.scheduler.options}


def fused_scheduler(spec: SweepSpec) -> TrialScheduler:
    if spec.scheduler.name == "asha":
        return ResumableScheduler(BundleAwareASHA(time_attr=TIME_ATTR, **spec.scheduler.options))
    return build_scheduler(spec.scheduler)


def fused_searcher(spec: SweepSpec) -> FusedSearcher:
    """The planning searcher; prints one line on the configs that fall back to unfused trials."""
    total = total_trials(spec.space, spec.search.algorithm, spec.search.num_samples)
    searcher = FusedSearcher(spec, total, stop_rule(spec))
    if searcher.notes:
        print(f"caviar: fuse: {fallback_summary(searcher.notes, total)}", file=sys.stderr)
    return searcher


def fallback_summary(notes: list[str], total: int) -> str:
    """One line for all configs that run unfused: how many, and why, most common reason first."""
    reasons = Counter(note.partition(" runs unfused: ")[2] for note in notes)
    why = "; ".join(f"{reason} ({count})" for reason, count in reasons.most_common())
    return f"{len(notes)} of {total} trials run unfused: {why}"


def fusing(spec: SweepSpec) -> bool:
    """Whether this sweep fuses: ``fuse:`` set and the built-in mlp (user trainables fall back)."""
    if spec.fuse is None:
        return False
    if spec.trainable != BUILTIN:
        print(
            f"caviar: fuse: trials run unfused: only the built-in mlp fuses, not {spec.trainable}",
            file=sys.stderr,
        )
        return False
    return True


def tune_function(spec: SweepSpec) -> Callable[[dict[str, Any]], None]:
    """The Tune function trainable: bundles train fused, anything else as the adapter runs it."""
    if is_estimator_path(spec.trainable):  # scikit-learn: scored with the spec's `scoring:`
        return estimator_tune_trainable(spec.trainable, spec.data, spec.scoring, spec.resources.cpu)
    single = as_tune_trainable(spec.trainable, spec.data, spec.resources.cpu)
    if spec.fuse is None or spec.trainable != BUILTIN:
        return single
    bundle = as_tune_trainable(
        "caviar.trainables.bundle:train_bundle", spec.data, spec.resources.cpu
    )

    def run_trial(config: dict[str, Any]) -> None:
        (bundle if MEMBERS_KEY in config else single)(config)

    run_trial.__name__ = "mlp"
    return run_trial
