"""The parsers of the spec's sections (``space:``, ``search:``, ``scheduler:``, ...), each into its
typed part of ``caviar.spec.model``; every failure is one SpecError naming the key path."""

from __future__ import annotations

from typing import Any

from caviar.errors import SpecError, nested_error, shown
from caviar.search_spaces import Float, Space
from caviar.spec.fields import get, mapping, no_unknown_keys, read_options
from caviar.spec.limits import (
    MAX_CONFIRM,
    RESERVED_COLUMNS,
    check_data_size,
    check_resource_precision,
)
from caviar.spec.model import (
    ALGORITHMS,
    DEFAULT_MAX_T,
    SCHEDULERS,
    SEARCHES,
    ConfirmSpec,
    PbtSpec,
    Resources,
    SchedulerSpec,
    SearchSpec,
    caviar_defaults,
    option_kinds,
)
from caviar.spec.rules import check_search
from caviar.trainables.data import DataSpec
from caviar.trainables.estimator import is_estimator_path
from caviar.trainables.protocol import BUILTIN_FAMILIES


def parse_space(value: Any) -> Space:
    if value is None:
        raise SpecError("space", "required key is missing")
    found = mapping("space", value)
    if not found:
        raise SpecError("space", "needs at least one parameter")
    from caviar.trainables.adapter import SWEEP_KEYS

    for name in found:
        if name in SWEEP_KEYS or name in RESERVED_COLUMNS:
            raise SpecError(f"space.{name}", "is a column caviar adds to every trial; rename it")
    try:
        return Space.from_dict(found)
    except ValueError as error:
        raise nested_error("space", error) from None


def parse_data(value: Any, trainable: str) -> DataSpec | None:
    if value is None:
        return DataSpec() if trainable in BUILTIN_FAMILIES or is_estimator_path(trainable) else None
    found = mapping("data", value)
    try:
        data = DataSpec.from_dict(dict(found))
    except (TypeError, ValueError) as error:
        raise nested_error("data", error) from None
    check_data_size(data)
    return data


def parse_search(value: Any, space: Space) -> SearchSpec:
    found = mapping("search", value)
    algorithm = get(found, "algorithm", str, default="random", prefix="search.")
    if algorithm not in SEARCHES:
        raise SpecError(
            "search.algorithm", f"must be one of {', '.join(ALGORITHMS)}, got {shown(algorithm)}"
        )
    cls = SEARCHES[algorithm]
    known = {"algorithm", "num_samples", *option_kinds(cls)}
    for key in found:
        users = [a for a, other in SEARCHES.items() if key in option_kinds(other)]
        if key not in known and users:
            raise SpecError(f"search.{key}", f"is an option of {', '.join(users)}, not {algorithm}")
    no_unknown_keys("search.", found, known)
    num_samples = get(found, "num_samples", int, default=16, prefix="search.")
    if num_samples < 1:
        raise SpecError("search.num_samples", f"must be >= 1, got {num_samples}")
    search = cls(num_samples, **read_options(cls, found, "search."))
    check_search(search, space)
    return search


def parse_budget(value: Any) -> tuple[int | None, float | None]:
    """``budget: {trials: N, time_s: S}``: at most N trials, and no new work after S seconds."""
    if value is None:
        return None, None
    found = mapping("budget", value)
    no_unknown_keys("budget.", found, {"trials", "time_s"})
    trials = get(found, "trials", int, default=None, prefix="budget.")
    if trials is not None and trials < 1:
        raise SpecError("budget.trials", f"must be >= 1, got {trials}")
    time_s = get(found, "time_s", (int, float), default=None, prefix="budget.")
    if time_s is not None and time_s <= 0:
        raise SpecError("budget.time_s", f"must be > 0, got {time_s}")
    return trials, None if time_s is None else float(time_s)


def parse_confirm(value: Any) -> ConfirmSpec | None:
    """``confirm: {top_k: 5, seeds: 3}``; absent or null: no confirmation."""
    if value is None:
        return None
    found = mapping("confirm", value)
    no_unknown_keys("confirm.", found, {"top_k", "seeds"})
    top_k = get(found, "top_k", int, default=5, prefix="confirm.")
    seeds = get(found, "seeds", int, default=3, prefix="confirm.")
    for key, count in (("top_k", top_k), ("seeds", seeds)):
        if count < 1:
            raise SpecError(f"confirm.{key}", f"must be >= 1, got {count}")
        if count > MAX_CONFIRM:
            raise SpecError(
                f"confirm.{key}",
                f"must be <= {MAX_CONFIRM} (confirm re-trains top_k * seeds trials), got {count}",
            )
    return ConfirmSpec(top_k, seeds)


def parse_resources(value: Any) -> Resources:
    found = mapping("resources", value)
    no_unknown_keys("resources.", found, {"cpu", "gpu"})
    cpu = get(found, "cpu", (int, float), default=1, prefix="resources.")
    gpu = get(found, "gpu", (int, float), default=0, prefix="resources.")
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


def parse_scheduler(value: Any, max_iterations: int | None, space: Space) -> SchedulerSpec:
    """``scheduler: asha`` or a mapping; ``max_t`` defaults to the space's most epochs."""
    if isinstance(value, str):
        value = {"name": value}
    found = mapping("scheduler", value)
    name = get(found, "name", str, default="fifo", prefix="scheduler.")
    if name not in SCHEDULERS:
        raise SpecError(
            "scheduler.name", f"must be one of {', '.join(SCHEDULERS)}, got {shown(name)}"
        )
    cls = SCHEDULERS[name]
    kinds = option_kinds(cls)
    no_unknown_keys("scheduler.", found, {"name", *kinds})
    options = {**caviar_defaults(cls), **read_options(cls, found, "scheduler.")}
    if "max_t" in kinds:
        options.setdefault("max_t", max_iterations or DEFAULT_MAX_T)
        if "grace_period" in options and options["grace_period"] > options["max_t"]:
            raise SpecError(
                "scheduler.grace_period",
                f"must be <= max_t ({options['max_t']}), got {options['grace_period']}",
            )
    if cls is PbtSpec:
        options["hyperparam_mutations"] = pbt_mutations(options.get("hyperparam_mutations"), space)
        if "perturbation_factors" in options:
            options["perturbation_factors"] = tuple(options["perturbation_factors"])
    return cls(**options)


def pbt_mutations(names: list[str] | None, space: Space) -> tuple[str, ...]:
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


def parse_fuse(value: Any) -> int | str | None:
    """``fuse: K`` (members per bundle, K >= 1) or ``fuse: auto``; absent or null: no fusion."""
    if value is None:
        return None
    if value == "auto":
        return "auto"
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError("fuse", f"must be a positive integer or 'auto', got {shown(value)}")
    return value
