"""The sweep spec as typed, frozen objects: what the rest of caviar reads once the spec is checked.

Each search algorithm and each scheduler is its own variant with its own options, declared once
here as dataclass fields; ``fields.option`` attaches each option's type and range, which the
parser checks (``caviar.spec.sections``). A scheduler option left ``None`` takes Ray Tune's own
default (``caviar.tune.resolved`` reads it from Ray's signature when the spec is resolved); a
non-None default is caviar's, where Ray's would not suit iteration counts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from caviar.objective import Mode, Objective
from caviar.search_spaces import Choice, Constant, Integer, Space
from caviar.spec.fields import (
    Kind,
    above,
    at_least,
    between,
    names_list,
    option,
    two_factors,
)
from caviar.trainables.data import DataSpec

_NUMBER: Kind = (int, float)


# --- search: one variant per algorithm ---------------------------------------------------------


@dataclass(frozen=True)
class SearchSpec:
    """``search:``: the algorithm and the number of trials it draws (``num_samples`` None: it
    draws until the sweep's time budget ends; see ``rules.until_time_budget``).

    The properties below are what a builder may read of any algorithm: the warm-start zoom
    (``top_k``, ``margin``) and None for options the algorithm does not have. Each variant
    overrides those it declares as options.
    """

    algorithm: ClassVar[str] = "random"
    num_samples: int | None = 16

    @property
    def rounds(self) -> int:
        return 3

    @property
    def top_k(self) -> int:
        return 5

    @property
    def margin(self) -> float:
        return 0.1

    @property
    def n_startup_trials(self) -> int | None:
        return None

    @property
    def population_size(self) -> int | None:
        return None

    @property
    def options(self) -> dict[str, Any]:
        """The algorithm's own options as given or defaulted (its declared fields)."""
        return {f.name: getattr(self, f.name) for f in option_fields(type(self))}


@dataclass(frozen=True)
class RandomSearch(SearchSpec):
    """Independent draws from the space."""

    algorithm: ClassVar[str] = "random"


@dataclass(frozen=True)
class GridSearch(SearchSpec):
    """Every grid point, ``num_samples`` times each (Ray Tune's variant generator)."""

    algorithm: ClassVar[str] = "grid"


@dataclass(frozen=True)
class CoarseToFineSearch(SearchSpec):
    """``rounds`` rounds of ``num_samples // rounds`` trials (the remainder goes to the first
    rounds), each zoomed around the ``top_k`` best so far (``margin``: see ``zoom``)."""

    algorithm: ClassVar[str] = "coarse_to_fine"
    rounds: int = option(int, at_least(2), default=3)
    top_k: int = option(int, at_least(1), default=5)
    margin: float = option(_NUMBER, between(0, 1), default=0.1)


@dataclass(frozen=True)
class TpeSearch(SearchSpec):
    """Optuna's TPE: ``n_startup_trials`` random trials first (Optuna's default 10)."""

    algorithm: ClassVar[str] = "tpe"
    n_startup_trials: int | None = option(int, at_least(1))


@dataclass(frozen=True)
class Nsga2Search(SearchSpec):
    """Optuna's NSGA-II, ``population_size`` per generation (Optuna's default 50)."""

    algorithm: ClassVar[str] = "nsga2"
    population_size: int | None = option(int, at_least(2))


SEARCHES: dict[str, type[SearchSpec]] = {
    cls.algorithm: cls
    for cls in (RandomSearch, GridSearch, CoarseToFineSearch, TpeSearch, Nsga2Search)
}
ALGORITHMS = tuple(SEARCHES)


def search_spec(
    algorithm: str = "random", num_samples: int | None = 16, **options: Any
) -> SearchSpec:
    """The variant for ``algorithm`` with ``options`` (already checked values, e.g. in a test)."""
    return SEARCHES[algorithm](num_samples, **options)


# --- scheduler: one variant per scheduler ------------------------------------------------------


@dataclass(frozen=True)
class SchedulerSpec:
    """``scheduler:``: one of Ray Tune's schedulers; iterations (reported epochs) are its time."""

    name: ClassVar[str] = "fifo"

    @property
    def options(self) -> dict[str, Any]:
        """The options given or set by caviar, as Ray's keyword arguments; an option left out
        takes Ray's default."""
        found = {f.name: getattr(self, f.name) for f in option_fields(type(self))}
        return {k: v for k, v in found.items() if v is not None}


@dataclass(frozen=True)
class FifoSpec(SchedulerSpec):
    """No early stopping: every trial runs to its end."""

    name: ClassVar[str] = "fifo"


@dataclass(frozen=True)
class AshaSpec(SchedulerSpec):
    """Asynchronous successive halving (``AsyncHyperBandScheduler``)."""

    name: ClassVar[str] = "asha"
    max_t: int | None = option(int, above(0))
    grace_period: int | None = option(int, above(0))
    reduction_factor: float | None = option(_NUMBER, above(1))
    brackets: int | None = option(int, above(0))
    stop_last_trials: bool | None = option(bool)


@dataclass(frozen=True)
class HyperBandSpec(SchedulerSpec):
    """Synchronous HyperBand (``HyperBandScheduler``)."""

    name: ClassVar[str] = "hyperband"
    max_t: int | None = option(int, above(0))
    reduction_factor: float | None = option(_NUMBER, above(1))
    stop_last_trials: bool | None = option(bool)


@dataclass(frozen=True)
class MedianSpec(SchedulerSpec):
    """The median stopping rule; caviar waits 1 iteration and 3 trials (Ray: 60 s, 3)."""

    name: ClassVar[str] = "median"
    grace_period: int | None = option(int, above(0), default=1)
    min_samples_required: int | None = option(int, above(0), default=3)
    min_time_slice: int | None = option(int, at_least(0))
    hard_stop: bool | None = option(bool)


@dataclass(frozen=True)
class PbtSpec(SchedulerSpec):
    """Population-based training; caviar perturbs every 2 iterations (Ray: every 60 s).

    ``hyperparam_mutations`` names the parameters it perturbs (each on its own scale); the
    parser fills in every searched float when none is named.
    """

    name: ClassVar[str] = "pbt"
    perturbation_interval: int | None = option(int, above(0), default=2)
    burn_in_period: int | None = option(int, at_least(0))
    quantile_fraction: float | None = option(_NUMBER, between(0, 0.5))
    resample_probability: float | None = option(_NUMBER, between(0, 1))
    perturbation_factors: tuple[float, ...] | None = option(list, two_factors)
    hyperparam_mutations: tuple[str, ...] | None = option(list, names_list)
    synch: bool | None = option(bool)


DEFAULT_MAX_T = 100  # caviar's max_t (asha, hyperband) when the space's epochs are unbounded
SCHEDULERS: dict[str, type[SchedulerSpec]] = {
    cls.name: cls for cls in (FifoSpec, AshaSpec, HyperBandSpec, MedianSpec, PbtSpec)
}


def option_fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    """The declared options of a search or scheduler variant, in their order."""
    return tuple(f for f in dataclasses.fields(cls) if "check" in f.metadata)


def option_kinds(cls: type) -> dict[str, Kind]:
    """Each option of a variant and the YAML type it takes."""
    return {f.name: f.metadata["check"].kind for f in option_fields(cls)}


def caviar_defaults(cls: type) -> dict[str, Any]:
    """The options whose default is caviar's own (non-None), not Ray's."""
    return {f.name: f.default for f in option_fields(cls) if f.default is not None}


def scheduler_spec(name: str = "fifo", options: Mapping[str, Any] | None = None) -> SchedulerSpec:
    """The variant for ``name`` with ``options`` (already checked values, e.g. in a test)."""
    given = dict(options or {})
    for key in ("perturbation_factors", "hyperparam_mutations"):
        if isinstance(given.get(key), list):
            given[key] = tuple(given[key])
    return SCHEDULERS[name](**given)


# --- the rest ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfirmSpec:
    """``confirm:``: re-train the ``top_k`` best configs with ``seeds`` fresh seeds each."""

    top_k: int
    seeds: int


@dataclass(frozen=True)
class Resources:
    """``resources:``: what one trial takes (a fractional gpu packs trials onto one GPU)."""

    cpu: float = 1.0
    gpu: float = 0.0


def max_iterations(space: Space) -> int | None:
    """The most iterations a trial runs: ``epochs`` of the space, if it is fixed or bounded."""
    if "epochs" not in space:
        return None
    epochs = space["epochs"]
    if isinstance(epochs, Constant) and isinstance(epochs.value, int):
        return epochs.value
    if isinstance(epochs, Integer):
        return epochs.high
    if isinstance(epochs, Choice) and epochs.value_type == "int":
        return int(max(epochs.values))  # type: ignore[type-var, call-overload]
    return None


@dataclass(frozen=True)
class SweepSpec:
    """A whole sweep, checked."""

    name: str
    trainable: str
    data: DataSpec | None
    metric: str
    mode: Mode
    space: Space
    search: SearchSpec
    scheduler: SchedulerSpec
    resources: Resources
    max_concurrent: int | None
    max_failures: int
    time_budget_s: float | None
    seed: int
    storage: str
    raw: Mapping[str, Any] = field(compare=False, repr=False)
    loggers: tuple[str, ...] = ()
    confirm: ConfirmSpec | None = None
    max_trials: int | None = None  # budget.trials: the most trials the whole sweep starts
    fuse: int | str | None = None  # bundle size K, "auto", or None (see fusion planning)
    trial_time_limit_s: float | None = None  # wall-clock limit of one trial
    # Every objective: (metric,) and (mode,) unless `metric:` is a list; metric/mode are the first.
    metrics: tuple[str, ...] = ()
    modes: tuple[Mode, ...] = ()
    scoring: tuple[str, ...] = ()  # scikit-learn scorers of a sklearn: trainable
    tracker_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def objectives(self) -> tuple[tuple[str, Mode], ...]:
        """Each objective as (metric, mode); more than one: a multi-objective sweep."""
        return tuple(zip(self.metrics or (self.metric,), self.modes or (self.mode,), strict=True))

    @property
    def objective(self) -> Objective:
        """The first objective: the one schedulers, ``coarse_to_fine`` and ``confirm`` use."""
        return Objective(self.metric, self.mode)

    @property
    def sweep_uri(self) -> str:
        """Where this sweep's results go: ``<storage>/<name>`` (before a URI's ``?query``)."""
        from caviar.results.store import join_uri

        return join_uri(self.storage, self.name)

    @property
    def max_iterations(self) -> int | None:
        """The most iterations a trial runs: ``epochs`` of the space, if it is fixed or bounded."""
        return max_iterations(self.space)
