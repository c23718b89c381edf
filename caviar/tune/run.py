"""Running a sweep: spec -> Ray Tune Tuner (searcher, scheduler, resources) -> Parquet results.

Tune's settings are chosen for many small trials: actors are reused between trials, and Tune's own
per-trial JSON/CSV/TensorBoard files are off (caviar's Parquet tables replace them). Ray's
experiment state lives inside the sweep directory (``<sweep>/tune``), so ``resume`` finds it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from caviar.errors import SpecError, nested_error, sweep_failure
from caviar.orchestrator.limits import NonFiniteMetricStopper, with_time_limit
from caviar.orchestrator.progress import ProgressCallback
from caviar.orchestrator.resume_guards import check_resumable
from caviar.orchestrator.schedulers import SchedulerStateCallback, build_scheduler
from caviar.orchestrator.searchers import (
    SEED_KEY,
    CoarseToFineSearcher,
    ConfirmingSearcher,
    SpaceSearcher,
    optuna_searcher,
    search_algorithm,
    total_trials,
)
from caviar.orchestrator.spec import SweepSpec, parse_spec
from caviar.orchestrator.steering import sweep_stopped, with_steering
from caviar.results.callback import ParquetResultsCallback
from caviar.results.lock import sweep_lock
from caviar.results.store import SPEC_FILE, TUNE_DIR, SweepStore

# Tune's per-trial result files (JSON, CSV, TensorBoard) cost ~1 s per trial and thousands of files;
# caviar's Parquet callback records the same results.
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
# With a custom searcher, Tune starts one trial at a time (one pending trial) unless told
# otherwise: on a cluster the sweep would ramp up one actor start after another. caviar lets as
# many trials be pending as the cluster holds at once (see check_cluster); a user's value wins.
_USER_MAX_PENDING = os.environ.get("TUNE_MAX_PENDING_TRIALS_PG")
# A trainable that does not report the sweep's metric is reported by the results callback, in one
# line naming `metric:`, instead of by Tune's check, which raises from deep inside its loop.
os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")
# An actor that does not stop when asked (a trial hung past trial_time_limit_s) is killed after
# this many seconds, not Tune's default 600, so that it frees its CPUs/GPUs for the next trials.
os.environ.setdefault("TUNE_FORCE_TRIAL_CLEANUP_S", "10")
# Results reach storage within this many seconds of a report, so that a live page (`caviar
# dashboard`, which reads only storage) is at most about two seconds behind the trials.
LIVE_FLUSH_S = 1.0


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
    # An older sweep.yaml holds the spec as written: compare resolved with resolved.
    with contextlib.suppress(SpecError, TypeError, ValueError):
        existing = yaml.safe_load(parse_spec(existing).to_yaml())
    differ = sorted(
        key
        for key in set(existing) | set(ours)
        if key not in ("name", "storage", "history") and existing.get(key) != ours.get(key)
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


def run_sweep(spec: SweepSpec, show_progress: bool = True, warm: Any = None) -> SweepOutcome:
    """Run the sweep on the Ray that is connected (``ray.init`` was called).

    ``warm``: a ``warm_start.WarmStart``, the old sweep the searcher starts from.
    """
    store = prepare(spec)
    with sweep_lock(store, "run"):  # one driver per sweep (see caviar.results.lock)
        if store.exists(SPEC_FILE):  # another run wrote it between the check and the lock
            _refuse_existing(store, spec)
        check_cluster(spec)
        store.write_text(SPEC_FILE, spec.to_yaml())
        tuner = _build_tuner(spec, store, show_progress, warm)
        return _fit(tuner, spec)


def resume_sweep(
    sweep_uri: str,
    show_progress: bool = True,
    time_budget_s: float | None = None,
    adjust: Any = None,
) -> SweepOutcome:
    """Continue an interrupted sweep from its directory: nothing that finished runs again.

    An extended sweep (``caviar extend``) continues with the raised budget of its recorded spec;
    ``time_budget_s`` replaces the time budget for this run; ``adjust(tuner)``, if given, changes
    the restored Tuner before it runs (``caviar continue``).
    """
    store = SweepStore.at(sweep_uri)
    if not store.exists(SPEC_FILE):
        raise SpecError("SWEEP_DIR", f"no caviar sweep at {sweep_uri} ({SPEC_FILE} not found)")
    with sweep_lock(store, "resume"):  # one driver per sweep (see caviar.results.lock)
        return _resume_locked(store, sweep_uri, show_progress, time_budget_s, adjust)


def _resume_locked(
    store: SweepStore,
    sweep_uri: str,
    show_progress: bool,
    time_budget_s: float | None,
    adjust: Any,
) -> SweepOutcome:
    import yaml
    from ray import tune

    spec = parse_spec(yaml.safe_load(store.read_text(SPEC_FILE)))
    check_resumable(store, sweep_uri)
    check_cluster(spec)
    if not has_tune_state(store):
        # Killed before Tune saved its first snapshot: no trial can have finished in Tune's view,
        # so the same sweep starts again (the Parquet callback drops rows of the lost trials).
        tuner = _build_tuner(spec, store, show_progress)
    else:
        from caviar.orchestrator.fusion import tune_function

        trainable = tune.with_resources(
            tune_function(spec),
            {"cpu": spec.resources.cpu, "gpu": spec.resources.gpu},
        )
        tuner = tune.Tuner.restore(
            store.path(TUNE_DIR),
            trainable,
            resume_unfinished=True,
            resume_errored=False,
            storage_filesystem=store.filesystem,
        )
        _grow_restored(tuner, spec, time_budget_s)
        if adjust is not None:
            adjust(tuner)
    return _fit(tuner, spec)


def tune_statuses(store: SweepStore) -> dict[str, str]:
    """Trial statuses in Ray Tune's newest experiment snapshot (empty if there is none)."""
    import json

    selector = pafs.FileSelector(store.path(TUNE_DIR), allow_not_found=True)
    names = sorted(
        info.path
        for info in store.filesystem.get_file_info(selector)
        if info.base_name.startswith("experiment_state") and info.base_name.endswith(".json")
    )
    if not names:
        return {}
    try:
        with store.filesystem.open_input_stream(names[-1]) as stream:
            state = json.loads(bytes(stream.read()).decode())
        return {
            json.loads(trial)["trial_id"]: json.loads(trial)["status"]
            for trial, _ in state["trial_data"]
        }
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _grow_restored(tuner: Any, spec: SweepSpec, time_budget_s: float | None) -> None:
    """Hand an extended sweep's plan to the restored search; set this run's time budget; let
    continued trials (``caviar continue``) train past the scheduler's ``max_t``."""
    from caviar.orchestrator.continuation import Continued, continued_trials
    from caviar.orchestrator.plan import search_plan
    from caviar.orchestrator.restored import restored_tune_config
    from caviar.orchestrator.searchers import ResumableSearch

    plan = search_plan(spec)
    continued = continued_trials(dict(spec.raw))
    if plan is None and time_budget_s is None and not continued:
        return
    config = restored_tune_config(tuner)
    if plan is not None and isinstance(config.search_alg, ResumableSearch):
        config.search_alg.plan = plan
    if time_budget_s is not None:
        config.time_budget_s = time_budget_s
    if continued:  # trained past their plan: the scheduler and the searcher let them be
        config.scheduler = Continued(config.scheduler, continued)
        if isinstance(config.search_alg, ResumableSearch):
            config.search_alg.frozen = frozenset(continued)


def has_tune_state(store: SweepStore) -> bool:
    """Whether Tune saved enough to restore from: its tuner.pkl and an experiment snapshot.

    ``Tuner.can_restore`` looks at tuner.pkl only, which Tune writes before its first snapshot;
    a driver killed in between leaves a directory that ``Tuner.restore`` cannot continue.
    """
    from ray import tune

    directory = store.path(TUNE_DIR)
    if not tune.Tuner.can_restore(directory, storage_filesystem=store.filesystem):
        return False
    selector = pafs.FileSelector(directory, allow_not_found=True)
    names = [info.base_name for info in store.filesystem.get_file_info(selector)]
    return any(n.startswith("experiment_state") and n.endswith(".json") for n in names)


def check_cluster(spec: SweepSpec) -> None:
    """Before any trial: a trial must fit on some node (else SpecError); warn about node-local storage."""
    from caviar.orchestrator.resources import (
        alive_nodes,
        check_resources,
        storage_warnings,
        trial_slots,
    )

    nodes = alive_nodes()
    check_resources(spec.resources.cpu, spec.resources.gpu, nodes)
    if _USER_MAX_PENDING is None:
        slots = trial_slots(spec.resources.cpu, spec.resources.gpu, nodes)
        if spec.max_concurrent is not None:
            slots = min(slots, spec.max_concurrent)
        os.environ["TUNE_MAX_PENDING_TRIALS_PG"] = str(max(1, slots))
    for warning in storage_warnings(spec.storage, nodes):
        print(f"caviar: warning: {warning}", file=sys.stderr)


def _build_tuner(spec: SweepSpec, store: SweepStore, show_progress: bool, warm: Any = None):  # type: ignore[no-untyped-def]
    from ray import tune

    from caviar import __version__
    from caviar.orchestrator import fusion

    search_alg, param_space, num_samples, total = build_search(spec, warm)
    results_callback = ParquetResultsCallback
    scheduler = build_scheduler(
        spec.scheduler, spec.space, spec.seed, confirm=spec.confirm is not None
    )
    if fusion.fusing(spec):  # fuse: K trains bundles of configs as one trial each
        from caviar.results.fused import FusedResultsCallback

        search_alg = fusion.fused_searcher(spec)
        total = num_samples = search_alg.total
        scheduler = fusion.fused_scheduler(spec)
        results_callback = FusedResultsCallback
    max_concurrent = spec.max_concurrent
    if not param_space:  # a caviar searcher: resumable, its concurrency limited around it
        search_alg, max_concurrent = search_algorithm(search_alg, spec.max_concurrent), None
    callbacks: list[tune.Callback] = [
        results_callback(
            store,
            spec.space,
            spec.metric,
            spec.mode,
            spec.to_yaml(),
            __version__,
            max_t=spec.scheduler.options.get("max_t"),
            objectives=spec.objectives,
            flush_seconds=LIVE_FLUSH_S,
        )
    ]
    callbacks.append(SchedulerStateCallback(scheduler))
    callbacks.extend(logger_callbacks(spec))
    if show_progress:
        callbacks.append(ProgressCallback(total, spec.metric, spec.mode))
    trainable = tune.with_resources(
        fusion.tune_function(spec),
        {"cpu": spec.resources.cpu, "gpu": spec.resources.gpu},
    )
    return tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            metric=spec.metric,
            mode=spec.mode,
            search_alg=search_alg,
            scheduler=with_steering(
                with_time_limit(scheduler, spec.trial_time_limit_s),
                spec.sweep_uri,
                num_samples,
            ),
            num_samples=num_samples,
            max_concurrent_trials=max_concurrent,
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
            # Every checkpoint is kept while the sweep runs: the snapshot a resume restarts from
            # can lag behind the trials (Tune copies it to storage in the background), and with
            # num_to_keep a kill -9 can leave it pointing at a checkpoint already deleted. PBT
            # clones other trials' checkpoints too. The results callback prunes them at the end.
            checkpoint_config=tune.CheckpointConfig(num_to_keep=None),
        ),
    )


def build_search(spec: SweepSpec, warm: Any = None) -> tuple[Any, dict[str, Any], int, int]:
    """The search algorithm, Tune's param_space, Tune's num_samples, and the trials it makes.

    PBT takes no searcher in Ray, so with pbt the space becomes a Ray Tune param_space (scales
    kept by ``to_ray_tune``) drawn by Tune's own seeded variant generator; otherwise the
    param_space is empty and a caviar searcher draws every config.
    """
    from ray.tune.search.basic_variant import BasicVariantGenerator

    search = spec.search
    if spec.scheduler.name == "pbt":
        from ray import tune

        from caviar.search_spaces import to_ray_tune

        param_space = to_ray_tune(spec.space)
        if SEED_KEY not in spec.space:
            param_space[SEED_KEY] = tune.randint(0, 2**31 - 1)
        generator = BasicVariantGenerator(
            max_concurrent=spec.max_concurrent or 0, random_state=spec.seed
        )
        return generator, param_space, _pbt_samples(spec), planned_trials(spec)
    total = total_trials(spec.space, search.algorithm, search.num_samples)
    searcher: Any
    if search.algorithm in ("tpe", "nsga2"):
        storage = None
        if warm is not None:  # the old trials, told to the study before the first suggestion
            from caviar.orchestrator.warm_start import optuna_storage

            storage = optuna_storage(warm, spec.space, spec.mode, "optuna")
        searcher = optuna_searcher(
            spec.space,
            spec.seed,
            spec.objectives,
            search.algorithm,
            search.n_startup_trials,
            search.population_size,
            storage,
        )
    elif search.algorithm == "coarse_to_fine":
        space = spec.space
        if warm is not None:  # the first round already zoomed around the old best trials
            from caviar.orchestrator.warm_start import zoomed_first_round

            space = zoomed_first_round(warm, space, spec.mode, search.top_k, search.margin)
        searcher = CoarseToFineSearcher(
            space,
            spec.seed,
            total,
            search.rounds,
            search.top_k,
            search.margin,
            metric=spec.metric,
            mode=spec.mode,
        )
    else:
        searcher = SpaceSearcher(
            spec.space,
            seed=spec.seed,
            total=total,
            grid=search.algorithm == "grid",
            repeats=search.num_samples,
        )
    if spec.confirm is not None:
        searcher = ConfirmingSearcher(
            searcher, spec.confirm.top_k, spec.confirm.seeds, spec.seed, spec.metric, spec.mode
        )
    total = planned_trials(spec)
    return searcher, {}, total, total


def _pbt_samples(spec: SweepSpec) -> int:
    """Tune's num_samples under pbt: per grid point, or the random draws (budget.trials caps them)."""
    if spec.max_trials is not None and spec.search.algorithm == "random":
        return min(spec.search.num_samples, spec.max_trials)
    return spec.search.num_samples


def planned_trials(spec: SweepSpec) -> int:
    """How many trials the whole sweep starts: its draws, the confirmations, capped by budget."""
    if spec.scheduler.name == "pbt":
        return total_trials(spec.space, spec.search.algorithm, _pbt_samples(spec))
    total = total_trials(spec.space, spec.search.algorithm, spec.search.num_samples)
    if spec.confirm is not None:
        total += spec.confirm.top_k * spec.confirm.seeds
    if spec.max_trials is not None:
        total = min(total, spec.max_trials)
    return total


def logger_callbacks(spec: SweepSpec) -> list[Any]:
    """The trackers that ``loggers:`` switches on; their packages are imported only when asked.

    MLflow and TensorBoard are caviar's own callback (results/trackers: a parent run per sweep,
    a child run per trial, from the rows the Parquet store gets); W&B is Ray Tune's callback.
    """
    from caviar.results.trackers import sink_factories

    found: list[Any] = []
    factories = sink_factories(spec.loggers, spec.tracker_options, spec.name, spec.sweep_uri)
    if factories:
        from caviar.results.trackers.callback import TrackerCallback

        found.append(TrackerCallback(factories))
    if "wandb" in spec.loggers:
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
    ended = ("TERMINATED", "ERROR", "STOPPED")
    unfinished = sum(n for s, n in statuses.items() if s not in ended)
    # Interrupted between trials, none is left running: then fewer trials than the sweep has ran
    # (unless a person stopped the sweep: `caviar stop`, the dashboard).
    missing = (
        spec.time_budget_s is None
        and len(trials) < planned_trials(spec)
        and not sweep_stopped(spec.sweep_uri)
    )
    return SweepOutcome(
        spec.sweep_uri, len(trials), statuses.get("ERROR", 0), unfinished > 0 or missing
    )
