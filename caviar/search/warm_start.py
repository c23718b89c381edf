"""``caviar run SPEC --warm-start OLD_SWEEP``: a new sweep whose search starts from an old one's results.

TPE is told the old finished trials and their values (Optuna's ``add_trial`` into the study that
Ray's OptunaSearch then loads), so it models the space from its first trial. Coarse-to-fine's
first round samples the new space already zoomed around the old best trials. Only parameters that
both spaces search are carried, and an old value outside the new bounds (or a category the new
space dropped) is left out of that trial; ``summary`` says in one line what was carried and what
was not. Random and grid search learn nothing from results, so they refuse a warm start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from caviar.errors import SpecError
from caviar.objective import Objective, as_mode
from caviar.search_spaces import Constant, Space
from caviar.spec.history import recorded
from caviar.spec.model import SweepSpec
from caviar.spec.parse import parse_spec

WARM_START = "warm_start"
KEY = "--warm-start"


@dataclass(frozen=True)
class OldTrial:
    """One old finished trial as carried: the shared parameters inside the new bounds, values."""

    params: dict[str, Any]
    last: float  # the metric's last value (what Tune tells TPE of its own trials)
    best: float  # the metric's best value (what coarse-to-fine ranks by)


@dataclass(frozen=True)
class WarmStart:
    source: str
    trials: list[OldTrial]
    carried: list[str]
    not_carried: dict[str, str] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)  # values outside the new bounds

    @property
    def summary(self) -> str:
        """One line for a person: what was carried, what was not."""
        parts = [
            f"caviar: warm start from {self.source}: {len(self.trials)} finished trials, "
            f"carried {', '.join(self.carried)}"
        ]
        if self.not_carried:
            parts.append(
                "not carried: "
                + ", ".join(f"{name} ({why})" for name, why in self.not_carried.items())
            )
        if self.dropped:
            parts.append(
                "dropped outside the new bounds: "
                + ", ".join(f"{n} values of {name}" for name, n in self.dropped.items())
            )
        return "; ".join(parts)

    def record(self) -> dict[str, Any]:
        """The history entry of the new sweep."""
        return {
            "from": self.source,
            "trials": len(self.trials),
            "carried": list(self.carried),
            "not_carried": dict(self.not_carried),
            "dropped": dict(self.dropped),
        }


def load_warm_start(source: str, spec: SweepSpec) -> WarmStart:
    """The old sweep's finished trials as the new spec's searcher can take them (no writes)."""
    from caviar.results.readers import read_trials

    if spec.search.algorithm not in ("tpe", "coarse_to_fine"):
        raise SpecError(
            KEY,
            f"search.algorithm {spec.search.algorithm} learns nothing from earlier trials; "
            "a warm start works with tpe or coarse_to_fine",
        )
    if spec.scheduler.name == "pbt" or spec.fuse is not None or spec.confirm is not None:
        raise SpecError(KEY, "a warm start works without pbt, fuse and confirm")
    _, raw = recorded(source, KEY)
    try:
        old = parse_spec(raw)
    except SpecError as error:
        raise SpecError(KEY, f"{source}: its recorded spec no longer parses: {error}") from None
    if old.metric != spec.metric or old.mode != spec.mode:
        raise SpecError(
            KEY,
            f"{source} ranks trials by {old.metric} ({old.mode}), this spec by "
            f"{spec.metric} ({spec.mode})",
        )
    new_params = spec.space.searched
    shared = [name for name in new_params if name in old.space.searched]
    if not shared:
        raise SpecError(
            KEY,
            f"{source} shares no searched parameter with this spec "
            f"(old: {', '.join(old.space.searched) or 'none'}; new: {', '.join(new_params)})",
        )
    not_carried = {n: "not searched in the old sweep" for n in new_params if n not in shared}
    not_carried.update(
        {n: "not in the new space" for n in old.space.searched if n not in spec.space.params}
    )
    trials = read_trials(source)
    best_column = f"best_{spec.metric}"
    carried: list[OldTrial] = []
    dropped: dict[str, int] = {}
    if len(trials) and best_column in trials:
        finished = trials[(trials["status"] == "TERMINATED") & trials[best_column].notna()]
        if "confirm_of" in finished:
            finished = finished[finished["confirm_of"].isna()]
        for row in finished.to_dict("records"):
            params = {}
            for name in shared:
                value = _plain(row.get(name))
                if value is None:
                    continue
                if spec.space[name].value_type == "int" and isinstance(value, float):
                    value = int(value) if value.is_integer() else value
                if spec.space[name].contains(value):
                    params[name] = value
                else:
                    dropped[name] = dropped.get(name, 0) + 1
            last = _plain(row.get(spec.metric))
            best = float(row[best_column])
            carried.append(OldTrial(params, float(last) if _number(last) else best, best))
    return WarmStart(source, carried, shared, not_carried, dropped)


def _plain(value: Any) -> Any:
    """A table cell as a plain Python value; None where it is missing (null, NaN, pd.NA)."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def optuna_storage(warm: WarmStart, space: Space, mode: str, study_name: str) -> Any:
    """An in-memory Optuna storage whose study holds the old trials, for OptunaSearch to load."""
    import optuna

    from caviar.search_spaces.optuna import optuna_distribution, to_optuna_value

    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(
        storage=storage, study_name=study_name, direction=Objective("", as_mode(mode)).direction
    )
    for trial in warm.trials:
        params, distributions = {}, {}
        for name, value in trial.params.items():
            dist = space[name]
            optuna_dist = optuna_distribution(dist)
            if optuna_dist is None or isinstance(dist, Constant):
                continue
            params[name] = to_optuna_value(dist, _typed(dist.value_type, value))
            distributions[name] = optuna_dist
        if params and _number(trial.last):
            study.add_trial(
                optuna.trial.create_trial(
                    params=params, distributions=distributions, value=trial.last
                )
            )
    return storage


def _typed(kind: str, value: Any) -> Any:
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    return value


def zoomed_first_round(
    warm: WarmStart, space: Space, mode: str, top_k: int, margin: float
) -> Space:
    """Coarse-to-fine's first space: the new space zoomed around the old best trials."""
    from caviar.search_spaces import zoom

    rows = [{**t.params, "__metric__": t.best} for t in warm.trials if t.params]
    if not rows:
        return space
    return zoom(space, rows, "__metric__", as_mode(mode), top_k, margin)
