"""A sweep spec as a Ray Tune Tuner: its searcher, scheduler, callbacks and trainable.

Tune's settings are chosen for many small trials: actors are reused between trials, and Tune's own
per-trial JSON/CSV/TensorBoard files are off (caviar's Parquet tables replace them; see
``caviar.tune.environment``). Ray's experiment state lives inside the sweep directory
(``<sweep>/tune``), so ``resume`` finds it. Each builder takes the part of the spec it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from caviar.results.store import TUNE_DIR, SweepStore
from caviar.results.writer import ResultsWriter
from caviar.search.plan import pbt_samples, planned_trials
from caviar.search.streams import SEED_KEY, total_trials
from caviar.search_spaces import Space
from caviar.spec.model import ConfirmSpec, SearchSpec, SweepSpec
from caviar.tune.callbacks_results import ParquetResultsCallback
from caviar.tune.limits import NonFiniteMetricStopper, UnstartedTrialDirs, with_time_limit
from caviar.tune.optuna_search import optuna_searcher
from caviar.tune.progress import ProgressCallback
from caviar.tune.resolved import spec_yaml
from caviar.tune.resumable import ResumableSearch
from caviar.tune.schedulers import SchedulerStateCallback, build_scheduler
from caviar.tune.searchers import CoarseToFineSearcher, ConfirmingSearcher, SpaceSearcher
from caviar.tune.steering import with_steering

# Results reach storage within this many seconds of a report, so that a live page (`caviar
# dashboard`, which reads only storage) is at most about two seconds behind the trials.
LIVE_FLUSH_S = 1.0


@dataclass(frozen=True)
class Search:
    """What Tune gets for the search: the algorithm, its param_space, num_samples (-1: until the
    time budget ends), and the trials the sweep starts in all (None: as many as the budget allows;
    for the progress line and steering)."""

    algorithm: Any
    param_space: dict[str, Any]
    num_samples: int
    total: int | None


def build_tuner(spec: SweepSpec, store: SweepStore, show_progress: bool, warm: Any = None) -> Any:
    """The Tuner of a new sweep (``warm``: a ``warm_start.WarmStart`` the search starts from)."""
    from ray import tune

    from caviar.tune import fusion

    search = build_search(spec, warm)
    scheduler = build_scheduler(
        spec.scheduler, spec.space, spec.seed, confirm=spec.confirm is not None
    )
    results_callback: Any = ParquetResultsCallback
    if fusion.fusing(spec):  # fuse: K trains bundles of configs as one trial each
        from caviar.tune.callbacks_results import FusedResultsCallback

        searcher = fusion.fused_searcher(spec)
        search = Search(searcher, {}, searcher.total, searcher.total)
        scheduler = fusion.fused_scheduler(spec)
        results_callback = FusedResultsCallback
    algorithm, max_concurrent = search.algorithm, spec.max_concurrent
    if not search.param_space:  # a caviar searcher: resumable, its concurrency limited around it
        algorithm, max_concurrent = search_algorithm(algorithm, spec.max_concurrent), None
    callbacks = [
        results_callback(
            ResultsWriter(
                store,
                spec.space,
                spec.metric,
                spec.mode,
                spec_yaml(spec),
                _version(),
                max_t=spec.scheduler.options.get("max_t"),
                objectives=spec.objectives,
                flush_seconds=LIVE_FLUSH_S,
            )
        ),
        SchedulerStateCallback(scheduler),
        UnstartedTrialDirs(),
        *logger_callbacks(spec),
    ]
    if show_progress:
        callbacks.append(
            ProgressCallback(search.total, spec.metric, spec.mode, budget_s=spec.time_budget_s)
        )
    return tune.Tuner(
        trainable(spec),
        param_space=search.param_space,
        tune_config=tune.TuneConfig(
            metric=spec.metric,
            mode=spec.mode,
            search_alg=algorithm,
            scheduler=with_steering(
                with_time_limit(scheduler, spec.trial_time_limit_s),
                spec.sweep_uri,
                search.num_samples,
            ),
            num_samples=search.num_samples,
            max_concurrent_trials=max_concurrent,
            time_budget_s=spec.time_budget_s,
            reuse_actors=spec.trial_time_limit_s is None,  # a hung actor must not be reused
            trial_dirname_creator=_trial_dirname,
        ),
        run_config=run_config(spec, store, callbacks),
    )


def run_config(spec: SweepSpec, store: SweepStore, callbacks: Sequence[Any]) -> Any:
    """Tune's RunConfig: storage in the sweep, caviar's callbacks, failures, checkpoints."""
    from ray import tune

    return tune.RunConfig(
        name=TUNE_DIR,
        storage_path=store.root,
        storage_filesystem=store.filesystem,
        callbacks=list(callbacks),
        stop=NonFiniteMetricStopper(spec.metric),
        verbose=0,
        failure_config=tune.FailureConfig(max_failures=spec.max_failures),
        # Every checkpoint is kept while the sweep runs: the snapshot a resume restarts from can
        # lag behind the trials (Tune copies it to storage in the background), and with
        # num_to_keep a kill -9 can leave it pointing at a checkpoint already deleted. PBT clones
        # other trials' checkpoints too. The results callback prunes them at the end.
        checkpoint_config=tune.CheckpointConfig(num_to_keep=None),
    )


def trainable(spec: SweepSpec) -> Any:
    """The sweep's trainable as Tune runs it, with each trial's resources and the sweep's data.

    The dataset goes into Ray's object store once (``tune.with_parameters``): trials read it
    from there instead of each worker loading, generating or reading it again."""
    from ray import tune

    from caviar.search.fusion import fuses
    from caviar.tune.fusion import tune_function

    function = tune_function(
        spec.trainable, spec.data, spec.resources.cpu, spec.scoring, fused=fuses(spec)
    )
    if spec.data is not None:  # loaded once here (prepare checked it), shipped to every trial
        from caviar.trainables.data import load_dataset

        function = tune.with_parameters(function, dataset=load_dataset(spec.data))
    return tune.with_resources(function, {"cpu": spec.resources.cpu, "gpu": spec.resources.gpu})


def build_search(spec: SweepSpec, warm: Any = None) -> Search:
    """The search Tune runs for ``spec``.

    PBT takes no searcher in Ray, so with pbt the space becomes a Ray Tune param_space (scales
    kept by ``caviar.tune.space.to_ray_tune``) drawn by Tune's own seeded variant generator;
    otherwise the param_space is empty and a caviar searcher draws every config.
    """
    if spec.scheduler.name == "pbt":
        return _pbt_search(spec)
    total = total_trials(spec.space, spec.search.algorithm, spec.search.num_samples)
    searcher = build_searcher(spec.search, spec.space, spec.seed, spec.objectives, total, warm)
    if spec.confirm is not None:
        searcher = confirming(searcher, spec.confirm, spec.seed, spec.objectives[0])
    planned = planned_trials(spec)
    return Search(searcher, {}, -1 if planned is None else planned, planned)


def _pbt_search(spec: SweepSpec) -> Search:
    from ray import tune
    from ray.tune.search.basic_variant import BasicVariantGenerator

    from caviar.tune.space import to_ray_tune

    param_space = to_ray_tune(spec.space)
    if SEED_KEY not in spec.space:
        param_space[SEED_KEY] = tune.randint(0, 2**31 - 1)
    generator = BasicVariantGenerator(
        max_concurrent=spec.max_concurrent or 0, random_state=spec.seed
    )
    return Search(generator, param_space, pbt_samples(spec), planned_trials(spec))


def build_searcher(
    search: SearchSpec,
    space: Space,
    seed: int,
    objectives: Sequence[tuple[str, str]],
    total: int | None,
    warm: Any = None,
) -> Any:
    """The searcher of ``search:`` drawing ``total`` configs from ``space`` (None: until the
    time budget ends)."""
    if search.algorithm in ("tpe", "nsga2"):
        storage = None
        if warm is not None:  # the old trials, told to the study before the first suggestion
            from caviar.search.warm_start import optuna_storage

            storage = optuna_storage(warm, space, objectives[0][1], "optuna")
        return optuna_searcher(
            space,
            seed,
            objectives,
            search.algorithm,
            search.n_startup_trials,
            search.population_size,
            storage,
        )
    if search.algorithm == "coarse_to_fine":
        metric, mode = objectives[0]
        if warm is not None:  # the first round already zoomed around the old best trials
            from caviar.search.warm_start import zoomed_first_round

            space = zoomed_first_round(warm, space, mode, search.top_k, search.margin)
        return CoarseToFineSearcher(
            space, seed, total or 0, search.rounds, search.top_k, search.margin, metric, mode
        )
    return SpaceSearcher(
        space,
        seed=seed,
        total=total,
        grid=search.algorithm == "grid",
        repeats=search.num_samples or 1,
    )


def confirming(
    searcher: Any, confirm: ConfirmSpec, seed: int, objective: tuple[str, str]
) -> ConfirmingSearcher:
    """``searcher``, then its ``confirm.top_k`` winners re-trained with fresh seeds."""
    metric, mode = objective
    return ConfirmingSearcher(searcher, confirm.top_k, confirm.seeds, seed, metric, mode)


def search_algorithm(searcher: Any, max_concurrent: int | None) -> ResumableSearch:
    """The search algorithm handed to Tune: the searcher, its concurrency limit, resumable."""
    from ray.tune.search import ConcurrencyLimiter

    if max_concurrent:
        searcher = ConcurrencyLimiter(searcher, max_concurrent=max_concurrent)
    return ResumableSearch(searcher)


def logger_callbacks(spec: SweepSpec) -> list[Any]:
    """The trackers that ``loggers:`` switches on; their packages are imported only when asked.

    MLflow and TensorBoard are caviar's own callback (results/trackers: a parent run per sweep,
    a child run per trial, from the rows the Parquet store gets); W&B is Ray Tune's callback.
    """
    from caviar.results.trackers import sink_factories

    found: list[Any] = []
    factories = sink_factories(spec.loggers, spec.tracker_options, spec.name, spec.sweep_uri)
    if factories:
        from caviar.tune.callbacks_trackers import TrackerCallback

        found.append(TrackerCallback(factories))
    if "wandb" in spec.loggers:
        from ray.air.integrations.wandb import WandbLoggerCallback

        found.append(WandbLoggerCallback(project=spec.name))
    return found


def _version() -> str:
    from caviar.version import __version__

    return __version__


def _trial_dirname(trial: object) -> str:
    return str(getattr(trial, "trial_id", "trial"))
