"""The sweep spec: parsed once from YAML (or a dict) into frozen, typed objects.

Every check happens here, before Ray starts: unknown keys, wrong types, impossible values, each
reported as ``SpecError("space.lr", "loguniform: low must be > 0, got 0")``. After parsing, the rest
of caviar trusts the spec.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from caviar.errors import SpecError, closest, nested_error, shown
from caviar.orchestrator.spec_checks import (
    MAX_CONFIRM,
    MAX_SEED,
    RESERVED_COLUMNS,
    check_data_size,
    check_metric_name,
    check_number,
    check_numbers,
    check_resource_precision,
)
from caviar.orchestrator.spec_extras import (
    check_estimator,
    check_trackers,
    parse_objectives,
    parse_scoring,
    parse_tracker_options,
)
from caviar.results.location import check_no_credentials
from caviar.search_spaces import Choice, Constant, Float, Integer, Space
from caviar.trainables.adapter import BUILTIN
from caviar.trainables.data import DataSpec
from caviar.trainables.estimator import is_estimator_path
from caviar.trainables.lookup import check_trainable
from caviar.trainables.protocol import check_builtin

ALGORITHMS = ("random", "grid", "coarse_to_fine", "tpe", "nsga2")
# Options of each search algorithm besides ``algorithm`` and ``num_samples``.
SEARCH_OPTIONS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "random": {},
    "grid": {},
    "coarse_to_fine": {"rounds": int, "top_k": int, "margin": (int, float)},
    "tpe": {"n_startup_trials": int},
    "nsga2": {"population_size": int},
}
_NUMBER = (int, float)
_FACTORS = list
# Each scheduler's options as Ray Tune names them; iterations (reported epochs) are the time unit.
SCHEDULERS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "fifo": {},
    "asha": {
        "max_t": int,
        "grace_period": int,
        "reduction_factor": _NUMBER,
        "brackets": int,
        "stop_last_trials": bool,
    },
    "hyperband": {"max_t": int, "reduction_factor": _NUMBER, "stop_last_trials": bool},
    "median": {
        "grace_period": int,
        "min_samples_required": int,
        "min_time_slice": int,
        "hard_stop": bool,
    },
    "pbt": {
        "perturbation_interval": int,
        "burn_in_period": int,
        "quantile_fraction": _NUMBER,
        "resample_probability": _NUMBER,
        "perturbation_factors": _FACTORS,
        "hyperparam_mutations": _FACTORS,
        "synch": bool,
    },
}
# Defaults caviar sets where Ray's own would not suit iteration counts (Ray's median rule waits 60).
SCHEDULER_DEFAULTS: dict[str, dict[str, Any]] = {
    "median": {"grace_period": 1, "min_samples_required": 3},
    "pbt": {"perturbation_interval": 2},
}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
TOP_KEYS = {
    "name",
    "trainable",
    "data",
    "metric",
    "mode",
    "space",
    "search",
    "scheduler",
    "resources",
    "max_concurrent",
    "max_failures",
    "time_budget_s",
    "budget",
    "confirm",
    "trial_time_limit_s",
    "seed",
    "storage",
    "loggers",
    "fuse",
    # trackers' options, scikit-learn scorers (see spec_extras.py)
    "mlflow",
    "tensorboard",
    "scoring",
    "history",  # what extend/continue/warm-start did (orchestrator/history.py); not parsed here
}
# Trackers a spec may switch on (Parquet is always on), with the package each needs installed:
# caviar's own MLflow and TensorBoard writers (caviar/results/trackers), Ray's W&B callback.
LOGGERS = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb"}
# How to install each: caviar's extras where it has one.
LOGGER_INSTALL = {
    "tensorboard": "pip install 'caviar-sweep[tensorboard]'",
    "mlflow": "pip install 'caviar-sweep[mlflow]'",
    "wandb": "pip install wandb",
}


@dataclass(frozen=True)
class SearchSpec:
    """``search:``: the algorithm, the number of trials it draws, and its options.

    ``coarse_to_fine``: ``rounds`` rounds of ``num_samples // rounds`` trials (the remainder goes to
    the first rounds), each zoomed around the ``top_k`` best so far (``margin``: see ``zoom``).
    ``tpe``: ``n_startup_trials`` random trials before TPE models the results (Optuna's default 10).
    ``nsga2``: Optuna's NSGA-II, ``population_size`` per generation (Optuna's default 50).
    """

    algorithm: str = "random"
    num_samples: int = 16
    rounds: int = 3
    top_k: int = 5
    margin: float = 0.1
    n_startup_trials: int | None = None
    population_size: int | None = None


@dataclass(frozen=True)
class ConfirmSpec:
    """``confirm:``: re-train the ``top_k`` best configs with ``seeds`` fresh seeds each."""

    top_k: int
    seeds: int


@dataclass(frozen=True)
class SchedulerSpec:
    name: str = "fifo"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Resources:
    cpu: float = 1.0
    gpu: float = 0.0


@dataclass(frozen=True)
class SweepSpec:
    """A whole sweep, checked."""

    name: str
    trainable: str
    data: DataSpec | None
    metric: str
    mode: str
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
    fuse: int | str | None = None  # bundle size K, "auto", or None (see orchestrator/fusion.py)
    trial_time_limit_s: float | None = None  # wall-clock limit of one trial (see limits.py)
    # Every objective: (metric,) and (mode,) unless `metric:` is a list; metric/mode are the first.
    metrics: tuple[str, ...] = ()
    modes: tuple[str, ...] = ()
    scoring: tuple[str, ...] = ()  # scikit-learn scorers of a sklearn: trainable
    tracker_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def objectives(self) -> tuple[tuple[str, str], ...]:
        """Each objective as (metric, mode); more than one: a multi-objective sweep."""
        return tuple(zip(self.metrics or (self.metric,), self.modes or (self.mode,), strict=True))

    @property
    def sweep_uri(self) -> str:
        """Where this sweep's results go: ``<storage>/<name>`` (before a URI's ``?query``)."""
        from caviar.results.store import join_uri

        return join_uri(self.storage, self.name)

    def to_yaml(self) -> str:
        """The resolved spec, as run (written to sweep.yaml; ``load_spec`` reads it back): every
        shorthand expanded and every default filled in (``orchestrator.resolved``)."""
        from caviar.orchestrator.resolved import resolved

        return yaml.safe_dump(resolved(self), sort_keys=False)

    @property
    def max_iterations(self) -> int | None:
        """The most iterations a trial runs: ``epochs`` of the space, if it is fixed or bounded."""
        if "epochs" not in self.space:
            return None
        epochs = self.space["epochs"]
        if isinstance(epochs, Constant) and isinstance(epochs.value, int):
            return epochs.value
        if isinstance(epochs, Integer):
            return epochs.high
        if isinstance(epochs, Choice) and epochs.value_type == "int":
            return int(max(epochs.values))  # type: ignore[type-var, call-overload]
        return None


def load_spec(path: str | Path, overrides: list[str] | None = None) -> SweepSpec:
    """Read a YAML spec file, apply ``key.path=value`` overrides, and parse it."""
    from caviar.orchestrator.spec_yaml import MAX_BYTES, load_yaml

    path = Path(path)
    if not path.is_file():
        raise SpecError("SPEC", f"file not found: {path}")
    if path.stat().st_size > MAX_BYTES:
        raise SpecError(
            str(path), f"is {path.stat().st_size:,} bytes; a spec may be at most {MAX_BYTES:,}"
        )
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise SpecError(str(path), "not a text file") from None
    raw = load_yaml(text, str(path))
    if not isinstance(raw, dict):
        raise SpecError(str(path), f"expected a mapping of keys, got {type(raw).__name__}")
    for override in overrides or []:
        apply_override(raw, override)
    return parse_spec(raw)


def apply_override(raw: dict[str, Any], override: str) -> None:
    """Set ``a.b=value`` in the raw spec; the value is parsed as YAML (``3`` is an int)."""
    from caviar.orchestrator.spec_yaml import load_yaml

    key, sep, text = override.partition("=")
    if not sep or not key.strip():
        raise SpecError("--set", f"expected key=value, got {shown(override)}")
    try:
        value = load_yaml(text, key.strip())
    except SpecError as error:
        if "invalid YAML" not in error.message:
            raise
        value = text
    target = raw
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = target.setdefault(part, {})
        if not isinstance(node, dict):
            raise SpecError(key, f"cannot set a key inside {shown(part)}, which is not a mapping")
        target = node
    target[parts[-1]] = value


def parse_spec(raw: Mapping[str, Any]) -> SweepSpec:
    """Check a spec given as a dict and return it typed. Raises SpecError naming the key path."""
    if not isinstance(raw, Mapping):
        raise SpecError("", f"a spec must be a mapping, got {type(raw).__name__}")
    _no_unknown_keys("", raw, TOP_KEYS)
    name = _get(raw, "name", str, required=True)
    if not _NAME.fullmatch(name):
        raise SpecError("name", f"use letters, digits, '_', '-' and '.', got {shown(name)}")
    check_numbers(raw)
    trainable = _get(raw, "trainable", str, default=BUILTIN)
    try:
        if not is_estimator_path(trainable):  # an estimator's class path is checked below
            check_trainable(trainable)
    except ValueError as error:
        raise SpecError("trainable", str(error)) from None
    data = _parse_data(raw.get("data"), trainable)
    metrics, modes = parse_objectives(raw)
    metric, mode = metrics[0], modes[0]
    for index, objective in enumerate(metrics):
        check_metric_name(objective, "metric" if len(metrics) == 1 else f"metric[{index}]")
    space = _parse_space(raw.get("space"))
    for objective in metrics:
        if objective in space:
            raise SpecError(
                "metric", f"{shown(objective)} is also a parameter of the space; rename one"
            )
    for index, objective in enumerate(metrics):
        path = "metric" if len(metrics) == 1 else f"metric[{index}]"
        check_builtin(trainable, space, objective, data, path)
    scoring = parse_scoring(raw.get("scoring"), trainable)
    if is_estimator_path(trainable):
        check_estimator(trainable, space, metrics, scoring)
    search = _parse_search(raw.get("search", {}), space)
    resources = _parse_resources(raw.get("resources", {}))
    max_concurrent = _get(raw, "max_concurrent", int, default=None)
    if max_concurrent is not None and max_concurrent < 1:
        raise SpecError(
            "max_concurrent", f"must be >= 1 (or null for no limit), got {max_concurrent}"
        )
    max_failures = _get(raw, "max_failures", int, default=0)
    if max_failures < -1:
        raise SpecError("max_failures", f"must be >= -1 (-1 retries forever), got {max_failures}")
    time_budget_s = _get(raw, "time_budget_s", (int, float), default=None)
    if time_budget_s is not None and time_budget_s <= 0:
        raise SpecError("time_budget_s", f"must be > 0, got {time_budget_s}")
    max_trials, budget_time = _parse_budget(raw.get("budget"))
    if budget_time is not None:
        if time_budget_s is not None:
            raise SpecError("budget.time_s", "give budget.time_s or time_budget_s, not both")
        time_budget_s = budget_time
    confirm = _parse_confirm(raw.get("confirm"))
    trial_time_limit_s = _get(raw, "trial_time_limit_s", (int, float), default=None)
    if trial_time_limit_s is not None and trial_time_limit_s <= 0:
        raise SpecError("trial_time_limit_s", f"must be > 0, got {trial_time_limit_s}")
    seed = _get(raw, "seed", int, default=0)
    if seed < 0:
        raise SpecError("seed", f"must be >= 0, got {seed}")
    if seed > MAX_SEED:
        raise SpecError("seed", f"must be <= 2**32 - 1 (Optuna's and NumPy's limit), got {seed}")
    storage = str(_get(raw, "storage", str, default="results"))
    check_no_credentials(storage)
    loggers = _parse_loggers(raw.get("loggers"))
    tracker_options = parse_tracker_options(raw, loggers)
    fuse = _parse_fuse(raw.get("fuse"))
    check_trackers(loggers, storage, fuse, tracker_options)
    spec = SweepSpec(
        name=name,
        trainable=trainable,
        data=data,
        metric=metric,
        mode=mode,
        space=space,
        search=search,
        scheduler=SchedulerSpec("fifo"),
        resources=resources,
        max_concurrent=max_concurrent,
        max_failures=max_failures,
        time_budget_s=None if time_budget_s is None else float(time_budget_s),
        seed=seed,
        storage=storage,
        raw=dict(raw),
        loggers=loggers,
        confirm=confirm,
        max_trials=max_trials,
        fuse=fuse,
        trial_time_limit_s=None if trial_time_limit_s is None else float(trial_time_limit_s),
        metrics=metrics,
        modes=modes,
        scoring=scoring,
        tracker_options=tracker_options,
    )
    scheduler = _parse_scheduler(raw.get("scheduler", {"name": "fifo"}), spec.max_iterations, space)
    _check_combination(search, scheduler, confirm, max_trials)
    if fuse is not None and scheduler.name not in ("fifo", "asha"):
        raise SpecError(
            "fuse", f"fused trials work with scheduler fifo or asha, got {scheduler.name!r}"
        )
    if fuse is not None and search.algorithm not in ("random", "grid"):
        raise SpecError(
            "fuse",
            f"fused trials work with search algorithm random or grid, got {search.algorithm!r}",
        )
    if fuse is not None and confirm is not None:
        raise SpecError("fuse", "fused trials do not combine with confirm: drop one of them")
    return SweepSpec(**{**spec.__dict__, "scheduler": scheduler})


def _type_name(kind: type | tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return names[float] if float in kinds else " or ".join(names.get(k, k.__name__) for k in kinds)


def _check_type(path: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise SpecError(path, f"must be {_type_name(kind)}, got {shown(value)}")
    if not isinstance(value, kinds):
        raise SpecError(path, f"must be {_type_name(kind)}, got {shown(value)}")
    check_number(path, value)
    return value


def _get(
    raw: Mapping[str, Any],
    key: str,
    kind: type | tuple[type, ...],
    *,
    required: bool = False,
    default: Any = None,
    prefix: str = "",
) -> Any:
    path = f"{prefix}{key}"
    if key not in raw or raw[key] is None:
        if required:
            raise SpecError(path, "required key is missing")
        return default
    return _check_type(path, raw[key], kind)


def _no_unknown_keys(prefix: str, raw: Mapping[str, Any], known: set[str]) -> None:
    for key in raw:
        if key not in known:
            suggestion = closest(str(key), known)
            hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
            raise SpecError(f"{prefix}{key}", f"unknown key{hint}")


def _mapping(path: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(path, f"must be a mapping, got {shown(value)}")
    return value


def _parse_space(value: Any) -> Space:
    if value is None:
        raise SpecError("space", "required key is missing")
    mapping = _mapping("space", value)
    if not mapping:
        raise SpecError("space", "needs at least one parameter")
    from caviar.trainables.adapter import SWEEP_KEYS

    for name in mapping:
        if name in SWEEP_KEYS or name in RESERVED_COLUMNS:
            raise SpecError(f"space.{name}", "is a column caviar adds to every trial; rename it")
    try:
        return Space.from_dict(mapping)
    except ValueError as error:
        raise nested_error("space", error) from None


def _parse_data(value: Any, trainable: str) -> DataSpec | None:
    if value is None:
        return DataSpec() if trainable == BUILTIN or is_estimator_path(trainable) else None
    mapping = _mapping("data", value)
    try:
        data = DataSpec.from_dict(dict(mapping))
    except (TypeError, ValueError) as error:
        raise nested_error("data", error) from None
    check_data_size(data)
    return data


def _parse_search(value: Any, space: Space) -> SearchSpec:
    mapping = _mapping("search", value)
    algorithm = _get(mapping, "algorithm", str, default="random", prefix="search.")
    if algorithm not in ALGORITHMS:
        raise SpecError(
            "search.algorithm", f"must be one of {', '.join(ALGORITHMS)}, got {shown(algorithm)}"
        )
    allowed = SEARCH_OPTIONS[algorithm]
    known = {"algorithm", "num_samples", *allowed}
    for key in mapping:
        if key not in known and any(key in options for options in SEARCH_OPTIONS.values()):
            users = [a for a, options in SEARCH_OPTIONS.items() if key in options]
            raise SpecError(f"search.{key}", f"is an option of {', '.join(users)}, not {algorithm}")
    _no_unknown_keys("search.", mapping, known)
    num_samples = _get(mapping, "num_samples", int, default=16, prefix="search.")
    if num_samples < 1:
        raise SpecError("search.num_samples", f"must be >= 1, got {num_samples}")
    options = {
        key: _get(mapping, key, kind, prefix="search.")
        for key, kind in allowed.items()
        if mapping.get(key) is not None
    }
    search = SearchSpec(algorithm, num_samples, **options)
    if algorithm == "coarse_to_fine":
        if search.rounds < 2:
            raise SpecError("search.rounds", f"must be >= 2, got {search.rounds}")
        if num_samples < 2 * search.rounds:
            raise SpecError(
                "search.num_samples",
                f"coarse_to_fine needs at least 2 trials per round "
                f"({2 * search.rounds} for {search.rounds} rounds), got {num_samples}",
            )
        if search.top_k < 1:
            raise SpecError("search.top_k", f"must be >= 1, got {search.top_k}")
        if not 0 <= search.margin <= 1:
            raise SpecError("search.margin", f"must be in [0, 1], got {search.margin}")
        if not space.searched:
            raise SpecError("space", "coarse_to_fine needs at least one searched parameter")
    if search.population_size is not None and search.population_size < 2:
        raise SpecError("search.population_size", f"must be >= 2, got {search.population_size}")
    if search.n_startup_trials is not None and search.n_startup_trials < 1:
        raise SpecError("search.n_startup_trials", f"must be >= 1, got {search.n_startup_trials}")
    return search


def _parse_budget(value: Any) -> tuple[int | None, float | None]:
    """``budget: {trials: N, time_s: S}``: at most N trials, and no new work after S seconds."""
    if value is None:
        return None, None
    mapping = _mapping("budget", value)
    _no_unknown_keys("budget.", mapping, {"trials", "time_s"})
    trials = _get(mapping, "trials", int, default=None, prefix="budget.")
    if trials is not None and trials < 1:
        raise SpecError("budget.trials", f"must be >= 1, got {trials}")
    time_s = _get(mapping, "time_s", (int, float), default=None, prefix="budget.")
    if time_s is not None and time_s <= 0:
        raise SpecError("budget.time_s", f"must be > 0, got {time_s}")
    return trials, None if time_s is None else float(time_s)


def _parse_confirm(value: Any) -> ConfirmSpec | None:
    """``confirm: {top_k: 5, seeds: 3}``; absent or null: no confirmation."""
    if value is None:
        return None
    mapping = _mapping("confirm", value)
    _no_unknown_keys("confirm.", mapping, {"top_k", "seeds"})
    top_k = _get(mapping, "top_k", int, default=5, prefix="confirm.")
    seeds = _get(mapping, "seeds", int, default=3, prefix="confirm.")
    for key, value in (("top_k", top_k), ("seeds", seeds)):
        if value < 1:
            raise SpecError(f"confirm.{key}", f"must be >= 1, got {value}")
        if value > MAX_CONFIRM:
            raise SpecError(
                f"confirm.{key}",
                f"must be <= {MAX_CONFIRM} (confirm re-trains top_k * seeds trials), got {value}",
            )
    return ConfirmSpec(top_k, seeds)


def _check_combination(
    search: SearchSpec,
    scheduler: SchedulerSpec,
    confirm: ConfirmSpec | None,
    max_trials: int | None,
) -> None:
    """Ray's PBT takes no searcher: it needs Tune's own variant generator (random or grid)."""
    if scheduler.name != "pbt":
        return
    if search.algorithm not in ("random", "grid"):
        raise SpecError(
            "scheduler.name",
            f"pbt explores by itself and takes no searcher: use search.algorithm random or grid "
            f"with it, got {search.algorithm}",
        )
    if confirm is not None:
        raise SpecError("confirm", "confirm re-trains through a searcher, which pbt does not take")
    if max_trials is not None and search.algorithm == "grid":
        raise SpecError(
            "budget.trials",
            "pbt with a grid runs every grid point num_samples times: it cannot stop at "
            f"{max_trials} trials; lower search.num_samples or use search.algorithm random",
        )


def _parse_resources(value: Any) -> Resources:
    mapping = _mapping("resources", value)
    _no_unknown_keys("resources.", mapping, {"cpu", "gpu"})
    cpu = _get(mapping, "cpu", (int, float), default=1, prefix="resources.")
    gpu = _get(mapping, "gpu", (int, float), default=0, prefix="resources.")
    if cpu < 0:
        raise SpecError("resources.cpu", f"must be >= 0, got {cpu}")
    if gpu < 0:
        raise SpecError("resources.gpu", f"must be >= 0, got {gpu}")
    if gpu > 1 and not float(gpu).is_integer():
        raise SpecError("resources.gpu", f"above 1 must be a whole number of GPUs, got {gpu}")
    if cpu == 0 and gpu == 0:
        raise SpecError("resources", "a trial needs at least some cpu or gpu")
    for key, amount in (("cpu", cpu), ("gpu", gpu)):
        check_resource_precision(f"resources.{key}", amount)
    return Resources(float(cpu), float(gpu))


def _parse_scheduler(value: Any, max_iterations: int | None, space: Space) -> SchedulerSpec:
    if isinstance(value, str):
        value = {"name": value}
    mapping = _mapping("scheduler", value)
    name = _get(mapping, "name", str, default="fifo", prefix="scheduler.")
    if name not in SCHEDULERS:
        raise SpecError(
            "scheduler.name", f"must be one of {', '.join(SCHEDULERS)}, got {shown(name)}"
        )
    allowed = SCHEDULERS[name]
    _no_unknown_keys("scheduler.", mapping, {"name", *allowed})
    options = {
        key: _get(mapping, key, kind, prefix="scheduler.")
        for key, kind in allowed.items()
        if mapping.get(key) is not None
    }
    for key, option in options.items():
        _check_option(key, option)
    options = {**SCHEDULER_DEFAULTS.get(name, {}), **options}
    if "max_t" in allowed:
        options.setdefault("max_t", max_iterations or 100)
        if "grace_period" in options and options["grace_period"] > options["max_t"]:
            raise SpecError(
                "scheduler.grace_period",
                f"must be <= max_t ({options['max_t']}), got {options['grace_period']}",
            )
    if name == "pbt":
        options["hyperparam_mutations"] = _pbt_mutations(options.get("hyperparam_mutations"), space)
        if "perturbation_factors" in options:
            options["perturbation_factors"] = tuple(options["perturbation_factors"])
    return SchedulerSpec(name, options)


def _check_option(key: str, option: Any) -> None:
    """Each scheduler option's range, as Ray Tune needs it (Ray itself asserts, or fails later)."""
    path = f"scheduler.{key}"
    if isinstance(option, bool):
        return
    if key in ("quantile_fraction",):
        if not 0 <= option <= 0.5:
            raise SpecError(path, f"must be in [0, 0.5], got {option}")
    elif key == "resample_probability":
        if not 0 <= option <= 1:
            raise SpecError(path, f"must be in [0, 1], got {option}")
    elif key == "perturbation_factors":
        if len(option) != 2 or not all(
            isinstance(f, int | float) and not isinstance(f, bool) and f > 0 for f in option
        ):
            raise SpecError(
                path, f"must be two numbers > 0 such as [1.2, 0.8], got {shown(option)}"
            )
    elif key == "hyperparam_mutations":
        if not option or not all(isinstance(n, str) for n in option):
            raise SpecError(path, f"must be a list of parameter names, got {shown(option)}")
    elif key in ("burn_in_period", "min_time_slice"):
        if option < 0:
            raise SpecError(path, f"must be >= 0, got {option}")
    elif key == "reduction_factor":
        if option <= 1:
            raise SpecError(path, f"must be > 1, got {option}")
    elif option <= 0:
        raise SpecError(path, f"must be > 0, got {option}")


def _pbt_mutations(names: list[str] | None, space: Space) -> tuple[str, ...]:
    """The parameters PBT perturbs: those named, or every searched float (lr, momentum, ...).

    Only parameters a trainable can change mid-run belong here: a new ``hidden_units`` would not
    fit the checkpointed weights.
    """

    if names is None:
        found = tuple(n for n, d in space.searched.items() if isinstance(d, Float))
        if not found:
            raise SpecError(
                "scheduler.hyperparam_mutations",
                "pbt needs parameters to perturb: the space searches no float; name them here",
            )
        return found
    for name in names:
        if name not in space.searched:
            raise SpecError(
                "scheduler.hyperparam_mutations",
                f"{name!r} is not a searched parameter of the space "
                f"(searched: {', '.join(space.searched) or 'none'})",
            )
    return tuple(names)


def _parse_loggers(value: Any) -> tuple[str, ...]:
    """``loggers: [tensorboard, mlflow, wandb]``: known names, once each, their package installed."""
    import importlib.util

    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise SpecError("loggers", f"must be a list such as [tensorboard], got {shown(value)}")
    for index, name in enumerate(value):
        if not isinstance(name, str) or name not in LOGGERS:
            raise SpecError(
                f"loggers[{index}]", f"must be one of {', '.join(LOGGERS)}, got {shown(name)}"
            )
        if value.index(name) != index:
            raise SpecError(f"loggers[{index}]", f"{name!r} is listed twice")
        package = LOGGERS[name]
        if importlib.util.find_spec(package) is None:
            raise SpecError(
                f"loggers[{index}]",
                f"{name} needs the {package!r} package, which is not installed: "
                f"{LOGGER_INSTALL[name]}",
            )
    return tuple(value)


def _parse_fuse(value: Any) -> int | str | None:
    """``fuse: K`` (members per bundle, K >= 1) or ``fuse: auto``; absent or null: no fusion."""
    if value is None:
        return None
    if value == "auto":
        return "auto"
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError("fuse", f"must be a positive integer or 'auto', got {shown(value)}")
    return value
