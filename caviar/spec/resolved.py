"""The resolved spec: every shorthand expanded and every default filled in, as sweep.yaml stores it.

``scheduler: asha`` becomes ``{name: asha, max_t: 12, grace_period: 1, reduction_factor: 4, ...}``
with Ray Tune's own defaults, except where caviar sets its own (the non-None defaults of the
scheduler variants in ``model``: Ray's median rule and PBT count seconds, caviar counts
iterations). Ray's defaults come in as ``defaults`` (a function of the scheduler's name):
``caviar.tune.resolved`` reads them from the signatures of Ray's classes, so that they cannot
drift and this package never imports Ray. Reading the resolved spec back gives the same sweep;
keys this module does not know (added by a newer spec) are kept as written.

``resolve_scheduler`` works on a raw ``scheduler:`` value alone (string, mapping or absent), so the
report and ``caviar show`` can read any sweep.yaml, also those written before it was resolved.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from caviar.spec.model import DEFAULT_MAX_T, SCHEDULERS, SweepSpec, caviar_defaults, option_kinds

Defaults = Callable[[str], Mapping[str, Any]]

__all__ = ["DEFAULT_MAX_T", "Defaults", "resolve_scheduler", "resolved"]


def _no_defaults(name: str) -> Mapping[str, Any]:
    return {}


def resolve_scheduler(
    value: Any, max_t: int | None = None, defaults: Defaults = _no_defaults
) -> dict[str, Any]:
    """A raw ``scheduler:`` value (``"asha"``, a mapping, or None) with every option filled in.

    Tolerant: it is for reading stored specs, which the parser already checked when they ran.
    """
    if value is None:
        value = {}
    if isinstance(value, str):
        value = {"name": value}
    found = dict(value) if isinstance(value, Mapping) else {}
    name = str(found.get("name") or "fifo")
    cls = SCHEDULERS.get(name)
    kinds = option_kinds(cls) if cls is not None else {}
    given = {k: v for k, v in found.items() if k != "name" and v is not None}
    ours = caviar_defaults(cls) if cls is not None else {}
    options = {**defaults(name), **ours, **given}
    if "max_t" in kinds and "max_t" not in given:
        options["max_t"] = max_t or DEFAULT_MAX_T
    options = {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}
    return {"name": name, **options}


def resolved(spec: SweepSpec, defaults: Defaults = _no_defaults) -> dict[str, Any]:
    """The spec as a plain mapping with nothing left implicit (what sweep.yaml holds)."""
    search = spec.search
    search_options: dict[str, Any] = {
        "algorithm": search.algorithm,
        "num_samples": search.num_samples,
        **search.options,
    }
    if search.algorithm == "tpe":  # Optuna's defaults
        search_options["n_startup_trials"] = search.n_startup_trials or 10
    if search.algorithm == "nsga2":
        search_options["population_size"] = search.population_size or 50
    scheduler = {"name": spec.scheduler.name, **spec.scheduler.options}
    scheduler = {**resolve_scheduler({"name": spec.scheduler.name}, defaults=defaults), **scheduler}
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
