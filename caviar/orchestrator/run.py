"""Running a sweep: spec -> Ray Tune Tuner (searcher, scheduler, resources) -> Parquet results.

Tune's settings are chosen for many small trials: actors are reused between trials, and Tune's own
per-trial JSON/CSV/TensorBoard files are off (caviar's Parquet tables replace them). Ray's
experiment state lives inside the sweep directory (``<sweep>/tune``), so ``resume`` finds it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from caviar.errors import SpecError, sweep_failure
from caviar.orchestrator.limits import NonFiniteMetricStopper, with_time_limit
from caviar.orchestrator.progress import ProgressCallback
from caviar.orchestrator.schedulers import build_scheduler
from caviar.orchestrator.searchers import SpaceSearcher, search_algorithm, total_trials
from caviar.orchestrator.spec import SweepSpec, nested_error, parse_spec
from caviar.results.callback import ParquetResultsCallback
from caviar.results.store import SPEC_FILE, TUNE_DIR, SweepStore

# Tune's per-trial result files (JSON, CSV, TensorBoard) cost ~1 s per trial and thousands of files;
# caviar's Parquet callback records the same results.
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
# A trainable that does not report the sweep's metric is reported by the results callback, in one
# line naming `metric:`, instead of by Tune's check, which raises from deep inside its loop.
os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")
# An actor that does not stop when asked (a trial hung past trial_time_limit_s) is killed after
# this many seconds, not Tune's default 600, so that it frees its CPUs/GPUs for the next trials.
os.environ.setdefault("TUNE_FORCE_TRIAL_CLEANUP_S", "10")


@dataclass(frozen=True)
class SweepOutcome:
    """How a sweep ended."""

    sweep_uri: str
    trials: int
    errors: int
    interrupted: bool


def prepare(spec: SweepSpec) -> SweepStore:
    """Check that the sweep can be written, and write nothing: errors are SpecErrors."""
    try:
        store = SweepStore.at(spec.sweep_uri)
    except (OSError, ValueError) as error:
        raise SpecError("storage", f"cannot use {spec.storage}: {_first_line(error)}") from None
    if isinstance(store.filesystem, pafs.LocalFileSystem):
        _check_local_writable(Path(store.root))
    else:
        _check_bucket(store, spec.storage)
    if store.exists(SPEC_FILE):
        _refuse_existing(store, spec)
    if spec.data is not None:
        from caviar.trainables.data import check_data

        try:
            check_data(spec.data)
        except ValueError as error:
            raise nested_error("data", error) from None
    return store


def _refuse_existing(store: SweepStore, spec: SweepSpec) -> None:
    """A sweep of that name exists: say whether it is this spec (resume it) or another one."""
    import yaml

    try:
        existing = yaml.safe_load(store.read_text(SPEC_FILE)) or {}
    except (OSError, yaml.YAMLError):
        existing = {}
    ours = yaml.safe_load(spec.to_yaml())
    differ = sorted(
        key
        for key in set(existing) | set(ours)
        if key not in ("name", "storage") and existing.get(key) != ours.get(key)
    )
    where = f"a sweep named {spec.name!r} already exists at {spec.sweep_uri}"
    if differ:
        raise SpecError(
            "name",
            f"{where} with a different spec ({', '.join(differ)} differ): "
            "pick another --name, or delete that sweep first",
        )
    raise SpecError(
        "name", f"{where}: continue it with `caviar resume {spec.sweep_uri}` or pick another --name"
    )


def _check_bucket(store: SweepStore, storage: str) -> None:
    """An object store: the bucket must exist and answer (checked by listing, writing nothing)."""
    bucket = store.root.split("/", 1)[0]
    try:
        info = store.filesystem.get_file_info(bucket)
    except OSError as error:
        raise SpecError("storage", f"cannot reach {storage}: {_first_line(error)}") from None
    if info.type == pafs.FileType.NotFound:
        raise SpecError("storage", f"cannot write to {storage}: bucket {bucket!r} does not exist")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _check_local_writable(path: Path) -> None:
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise SpecError("storage", f"cannot write to {existing}")


def run_sweep(spec: SweepSpec, show_progress: bool = True) -> SweepOutcome:
    """Run the sweep on the Ray that is connected (``ray.init`` was called)."""
    store = prepare(spec)
    store.write_text(SPEC_FILE, spec.to_yaml())
    tuner = _build_tuner(spec, store, show_progress)
    return _fit(tuner, spec)


def resume_sweep(sweep_uri: str, show_progress: bool = True) -> SweepOutcome:
    """Continue an interrupted sweep from its directory: nothing that finished runs again."""
    from ray import tune

    store = SweepStore.at(sweep_uri)
    if not store.exists(SPEC_FILE):
        raise SpecError("SWEEP_DIR", f"no caviar sweep at {sweep_uri} ({SPEC_FILE} not found)")
    import yaml

    spec = parse_spec(yaml.safe_load(store.read_text(SPEC_FILE)))
    if not tune.Tuner.can_restore(store.path(TUNE_DIR), storage_filesystem=store.filesystem):
        # Killed before Tune saved any state: start the same sweep again from scratch.
        tuner = _build_tuner(spec, store, show_progress)
    else:
        from caviar.trainables.adapter import as_tune_trainable

        trainable = tune.with_resources(
            as_tune_trainable(spec.trainable, spec.data, spec.resources.cpu),
            {"cpu": spec.resources.cpu, "gpu": spec.resources.gpu},
        )
        tuner = tune.Tuner.restore(
            store.path(TUNE_DIR),
            trainable,
            resume_unfinished=True,
            resume_errored=False,
            storage_filesystem=store.filesystem,
        )
    return _fit(tuner, spec)


def _build_tuner(spec: SweepSpec, store: SweepStore, show_progress: bool):  # type: ignore[no-untyped-def]
    from ray import tune

    from caviar import __version__
    from caviar.trainables.adapter import as_tune_trainable

    total = total_trials(spec.space, spec.search.algorithm, spec.search.num_samples)
    searcher = SpaceSearcher(
        spec.space,
        seed=spec.seed,
        total=total,
        grid=spec.search.algorithm == "grid",
        repeats=spec.search.num_samples,
    )
    callbacks: list[tune.Callback] = [
        ParquetResultsCallback(
            store,
            spec.space,
            spec.metric,
            spec.mode,
            spec.to_yaml(),
            __version__,
            max_t=spec.scheduler.options.get("max_t"),
        )
    ]
    callbacks.extend(logger_callbacks(spec))
    if show_progress:
        callbacks.append(ProgressCallback(total, spec.metric, spec.mode))
    trainable = tune.with_resources(
        as_tune_trainable(spec.trainable, spec.data, spec.resources.cpu),
        {"cpu": spec.resources.cpu, "gpu": spec.resources.gpu},
    )
    return tune.Tuner(
        trainable,
        param_space={},
        tune_config=tune.TuneConfig(
            metric=spec.metric,
            mode=spec.mode,
            search_alg=search_algorithm(searcher, spec.max_concurrent),
            scheduler=with_time_limit(build_scheduler(spec.scheduler), spec.trial_time_limit_s),
            num_samples=total,
            max_concurrent_trials=None,  # the search algorithm limits concurrency
            time_budget_s=spec.time_budget_s,
            reuse_actors=spec.trial_time_limit_s is None,  # a hung actor must not be reused
            trial_dirname_creator=_trial_dirname,
        ),
        run_config=tune.RunConfig(
            name=TUNE_DIR,
            storage_path=store.root,
            storage_filesystem=store.filesystem,
            callbacks=callbacks,
            stop=NonFiniteMetricStopper(spec.metric),
            verbose=0,
            failure_config=tune.FailureConfig(max_failures=spec.max_failures),
            # Every checkpoint is kept while the sweep runs: Tune deletes old ones at once, but the
            # snapshot a resume starts from lags behind and may name a deleted one (the trial then
            # fails to restore). The results callback prunes them when the sweep ends.
            checkpoint_config=tune.CheckpointConfig(num_to_keep=None),
        ),
    )


def logger_callbacks(spec: SweepSpec) -> list[Any]:
    """Ray Tune's own logger callbacks that ``loggers:`` switches on; imported only when asked."""
    found: list[Any] = []
    for name in spec.loggers:
        if name == "tensorboard":
            from ray.tune.logger import TBXLoggerCallback

            found.append(TBXLoggerCallback())  # type: ignore[no-untyped-call]
        elif name == "mlflow":
            from ray.air.integrations.mlflow import MLflowLoggerCallback

            found.append(MLflowLoggerCallback(experiment_name=spec.name))
        elif name == "wandb":
            from ray.air.integrations.wandb import WandbLoggerCallback

            found.append(WandbLoggerCallback(project=spec.name))
    return found


def _trial_dirname(trial: object) -> str:
    return str(getattr(trial, "trial_id", "trial"))


def _fit(tuner, spec: SweepSpec) -> SweepOutcome:  # type: ignore[no-untyped-def]
    try:
        tuner.fit()
    except Exception as error:
        failure = sweep_failure(error)  # Tune wraps a callback's error in its own
        if failure is None:
            raise
        raise failure from None
    from caviar.results.readers import read_trials

    trials = read_trials(spec.sweep_uri)
    statuses = trials["status"].value_counts().to_dict() if len(trials) else {}
    unfinished = sum(n for s, n in statuses.items() if s not in ("TERMINATED", "ERROR"))
    # Interrupted between trials, none is left running: then fewer trials than the sweep has ran.
    total = total_trials(spec.space, spec.search.algorithm, spec.search.num_samples)
    missing = spec.time_budget_s is None and len(trials) < total
    return SweepOutcome(
        spec.sweep_uri, len(trials), statuses.get("ERROR", 0), unfinished > 0 or missing
    )
