"""The resolved spec: every shorthand expanded and every default filled in, as sweep.yaml stores it.

``scheduler: asha`` becomes ``{name: asha, max_t: 12, grace_period: 1, reduction_factor: 4, ...}``
with Ray Tune's own defaults, read from the signatures of Ray's scheduler classes (so they cannot
drift from what the scheduler really uses), except where caviar sets its own (``SCHEDULER_DEFAULTS``:
Ray's median rule and PBT count seconds, caviar counts iterations). Reading the resolved spec back
gives the same sweep; keys this module does not know (added by a newer spec) are kept as written.

``resolve_scheduler`` works on a raw ``scheduler:`` value alone (string, mapping or absent), so the
report and ``caviar show`` can read any sweep.yaml, also those written before it was resolved.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from caviar.search_spaces import Choice, Constant, Integer, Space

if TYPE_CHECKING:
    from caviar.orchestrator.spec import SweepSpec

# caviar's max_t when the space's epochs are unbounded (as the parser fills it in).
DEFAULT_MAX_T = 100


def ray_defaults(name: str) -> dict[str, Any]:
    """Ray Tune's default for each option caviar accepts for scheduler ``name``."""
    from ray.tune.schedulers import (
        AsyncHyperBandScheduler,
        HyperBandScheduler,
        MedianStoppingRule,
        PopulationBasedTraining,
    )

    from caviar.orchestrator.spec import SCHEDULERS

    classes: dict[str, type] = {
        "asha": AsyncHyperBandScheduler,
        "hyperband": HyperBandScheduler,
        "median": MedianStoppingRule,
        "pbt": PopulationBasedTraining,
    }
    if name not in classes:
        return {}
    parameters = inspect.signature(classes[name]).parameters
    found: dict[str, Any] = {}
    for key, kind in SCHEDULERS[name].items():
        parameter = parameters.get(key)
        if parameter is None or parameter.default is inspect.Parameter.empty:
            continue
        found[key] = _as_kind(parameter.default, kind)
    return found


def _as_kind(value: Any, kind: type | tuple[type, ...]) -> Any:
    """Ray's default in the type the spec checks (``0.0`` for an int option becomes ``0``)."""
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def max_iterations(space: Space) -> int | None:
    """The most iterations a trial runs: ``epochs`` of the space, if fixed or bounded."""
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


def resolve_scheduler(value: Any, max_t: int | None = None) -> dict[str, Any]:
    """A raw ``scheduler:`` value (``"asha"``, a mapping, or None) with every option filled in.

    Tolerant: it is for reading stored specs, which the parser already checked when they ran.
    """
    from caviar.orchestrator.spec import SCHEDULER_DEFAULTS, SCHEDULERS

    if value is None:
        value = {}
    if isinstance(value, str):
        value = {"name": value}
    mapping = dict(value) if isinstance(value, Mapping) else {}
    name = str(mapping.get("name") or "fifo")
    allowed = SCHEDULERS.get(name, {})
    given = {k: v for k, v in mapping.items() if k != "name" and v is not None}
    options = {**ray_defaults(name), **SCHEDULER_DEFAULTS.get(name, {}), **given}
    if "max_t" in allowed and "max_t" not in given:
        options["max_t"] = max_t or DEFAULT_MAX_T
    options = {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}
    return {"name": name, **options}


def resolved(spec: SweepSpec) -> dict[str, Any]:
    """The spec as a plain mapping with nothing left implicit (what sweep.yaml holds)."""
    search = spec.search
    search_options: dict[str, Any] = {
        "algorithm": search.algorithm,
        "num_samples": search.num_samples,
    }
    if search.algorithm == "coarse_to_fine":
        search_options.update(rounds=search.rounds, top_k=search.top_k, margin=search.margin)
    if search.algorithm == "tpe":
        search_options["n_startup_trials"] = search.n_startup_trials or 10
    scheduler = {"name": spec.scheduler.name, **dict(spec.scheduler.options)}
    scheduler = {**resolve_scheduler({"name": spec.scheduler.name}), **scheduler}
    raw = dict(spec.raw)
    out: dict[str, Any] = dict(
        name=spec.name,
        trainable=spec.trainable,
        data=_data(spec),
        metric=raw.get("metric", spec.metric),
        mode=raw.get("mode", spec.mode),
        space=spec.space.to_dict(),
        search=search_options,
        scheduler=_plain(scheduler),
        resources={"cpu": spec.resources.cpu, "gpu": spec.resources.gpu},
        max_concurrent=spec.max_concurrent,
        max_failures=spec.max_failures,
        budget={"trials": spec.max_trials, "time_s": spec.time_budget_s},
        confirm=None
        if spec.confirm is None
        else {"top_k": spec.confirm.top_k, "seeds": spec.confirm.seeds},
        trial_time_limit_s=spec.trial_time_limit_s,
        loggers=list(spec.loggers),
        fuse=spec.fuse,
        seed=spec.seed,
        storage=spec.storage,
    )
    if out["budget"] == {"trials": None, "time_s": None}:
        out["budget"] = None
    # Keys of a newer spec that this module does not know stay as written; time_budget_s is an
    # alias of budget.time_s.
    out.update({k: v for k, v in raw.items() if k not in out and k != "time_budget_s"})
    return out


def _data(spec: SweepSpec) -> dict[str, Any] | None:
    if spec.data is None:
        return None
    from caviar.trainables.data import DATA_KEYS

    fields = {f.name for f in dataclasses.fields(spec.data)}
    values = {k: getattr(spec.data, k) for k in sorted(DATA_KEYS) if k in fields}
    return _plain({k: v for k, v in values.items() if v is not None})


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively: what ``yaml.safe_dump`` writes and reads back."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
