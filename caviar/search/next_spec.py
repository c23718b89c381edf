"""``caviar zoom``: the next coarse-to-fine spec of a sweep, written for a person to read and run.

The space is narrowed around the ``top_k`` best finished trials by ``search_spaces.zoom``, on each
parameter's own scale (a loguniform stays loguniform, a reverse_loguniform narrows in ``1 - x``),
and a choice keeps only the values some top trial used. Every searched parameter gets a comment
line: its old range, its new range, and how many of the top trials lie inside. The rest of the
spec is the sweep's own (without its history), under a new name, so it runs as written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from caviar.errors import SpecError
from caviar.search_spaces import Constant, Distribution, Float, Param, Space, zoom
from caviar.spec.history import HISTORY, recorded
from caviar.spec.parse import parse_spec

ZOOM = "zoom"


@dataclass(frozen=True)
class ZoomedSpec:
    """The next spec: its YAML text (with comments), its raw form, and one comment per parameter."""

    text: str
    raw: dict[str, Any]
    comments: dict[str, str]
    top: int


def zoom_spec(sweep_uri: str, top_k: int = 5, margin: float = 0.1) -> ZoomedSpec:
    """The zoomed next spec of a sweep; SpecError if it is not a sweep or has no finished trial."""
    from caviar.results.readers import read_trials

    if top_k < 1:
        raise SpecError("--top", f"must be >= 1, got {top_k}")
    if not 0 <= margin <= 1:
        raise SpecError("--margin", f"must be in [0, 1], got {margin:g}")
    _, raw = recorded(sweep_uri)
    spec = parse_spec(raw)
    trials = read_trials(sweep_uri)
    column = f"best_{spec.metric}"
    if len(trials) and column in trials:
        finished = trials[(trials["status"] == "TERMINATED") & trials[column].notna()]
    else:
        finished = trials.iloc[0:0]
    if "confirm_of" in finished:  # a confirmation repeats a config: count it once
        finished = finished[finished["confirm_of"].isna()]
    if len(finished) == 0:
        raise SpecError(
            "SWEEP_DIR", f"{sweep_uri} has no finished trial with a value of {spec.metric!r} yet"
        )
    records: list[dict[str, Any]] = [
        {str(k): v for k, v in row.items() if not _missing(v)}
        for row in finished.rename(columns={column: "__metric__"}).to_dict("records")
    ]
    objective = spec.objective
    best = sorted(records, key=lambda r: objective.loss(float(r["__metric__"])))[:top_k]
    try:
        narrowed = zoom(spec.space, best, "__metric__", objective.mode, top_k, margin)
    except ValueError as error:
        raise SpecError("SWEEP_DIR", str(error)) from None
    narrowed = Space(
        {
            name: Param(_tidy(spec.space[name], param.distribution), param.when)
            for name, param in narrowed.params.items()
        }
    )
    comments = {
        name: range_comment(
            spec.space[name], narrowed[name], inside_note(_inside(narrowed, name, best))
        )
        for name in narrowed.searched
    }
    new_raw = {k: v for k, v in raw.items() if k != HISTORY}
    new_raw["name"] = f"{spec.name}-zoom"
    new_raw["space"] = _space_values(raw.get("space") or {}, narrowed)
    header = (
        f"# caviar zoom of {sweep_uri}: the space narrowed around the {len(best)} best of "
        f"{len(finished)} finished trials by {spec.metric} ({spec.mode}), margin {margin:g}\n"
    )
    return ZoomedSpec(header + spec_text(new_raw, comments), new_raw, comments, len(best))


def _tidy(old: Distribution, new: Distribution, digits: int = 3) -> Distribution:
    """A float range with bounds rounded outward to ``digits`` significant digits, for a person
    to read; never wider than the old range, so every trial inside stays inside."""
    if not isinstance(new, Float) or not isinstance(old, Float) or new.step is not None:
        return new
    low = max(old.low, _round_sig(new.low, digits, math.floor))
    high = min(old.high, _round_sig(new.high, digits, math.ceil))
    try:
        return Float(low, high, new.scale, new.step)
    except ValueError:
        return new


def _round_sig(value: float, digits: int, direction: Any) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    scale = 10.0 ** (digits - 1 - math.floor(math.log10(abs(value))))
    return float(direction(value * scale) / scale)


def range_comment(old: Distribution, new: Distribution, why: str) -> str:
    """``was <old>, now <new>: <why>`` (why: ``k of K top trials inside``, or lr-find's note)."""
    return f"was {old!r}, now {new!r}: {why}"


def inside_note(inside: tuple[int, int]) -> str:
    return f"{inside[0]} of {inside[1]} top trials inside"


def _inside(space: Space, name: str, best: list[dict[str, Any]]) -> tuple[int, int]:
    dist = space[name]
    having = [r[name] for r in best if name in r]
    return sum(bool(dist.contains(_plain(dist, v))) for v in having), len(having)


def _plain(dist: Distribution, value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if dist.value_type == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _missing(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _space_values(old: Mapping[str, Any], space: Space) -> dict[str, Any]:
    """The spec's ``space:`` with each parameter's new distribution, in the old form and order."""
    narrowed = space.to_dict()
    out: dict[str, Any] = {}
    for name, value in old.items():
        if name not in narrowed:
            continue  # a conditional parameter whose condition no top trial met
        param = space.params[name]
        if isinstance(param.distribution, Constant):
            out[name] = value
        else:
            out[name] = narrowed[name]
    return out


def spec_text(raw: Mapping[str, Any], comments: Mapping[str, str]) -> str:
    """The spec as YAML, each commented parameter of ``space:`` preceded by its comment line."""
    parts = []
    for key, value in raw.items():
        if key != "space" or not isinstance(value, Mapping):
            parts.append(yaml.safe_dump({key: value}, sort_keys=False))
            continue
        lines = ["space:"]
        for name, param in value.items():
            if name in comments:
                lines.append(f"  # {name}: {comments[name]}")
            block = yaml.safe_dump({name: param}, sort_keys=False, width=1000).rstrip("\n")
            lines.extend(f"  {line}" for line in block.splitlines())
        parts.append("\n".join(lines) + "\n")
    return "".join(parts)


def write_zoom(
    sweep_uri: str, output: str | None = None, top_k: int = 5, margin: float = 0.1
) -> tuple[ZoomedSpec, str]:
    """Write the zoomed spec to ``output`` (default ``<name>-zoom.yaml`` here) and record it in
    the sweep's history; returns the spec and the path written."""
    from pathlib import Path

    from caviar.spec.history import with_entry, write_recorded

    zoomed = zoom_spec(sweep_uri, top_k, margin)
    path = Path(output or f"{zoomed.raw['name']}.yaml")
    if not path.parent.is_dir():
        raise SpecError("--output", f"no directory {path.parent}")
    path.write_text(zoomed.text)
    store, raw = recorded(sweep_uri)
    write_recorded(
        store, with_entry(raw, ZOOM, output=str(path), top=zoomed.top, margin=float(margin))
    )
    return zoomed, str(path)
