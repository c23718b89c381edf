"""Declarative checks of a spec's values: type and range, each failure one line naming its key path.

A section parser reads a key with ``get(mapping, key, kind, prefix=...)``; a search or scheduler
variant declares each option once as ``option(kind, rule)`` on its dataclass field, and
``read_options`` checks a mapping against those declarations. A rule returns what is wrong with a
value (``"must be > 0, got 0"``) or None.

Why not a schema library (pydantic, msgspec, cattrs): each formats its own messages, and the spec's
errors are a contract (tests/faults/test_bad_input.py checks 175+ of them word for word); mapping a
library's error tree back to these lines would be more code than the checks themselves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from caviar.errors import SpecError, closest, shown
from caviar.spec.limits import check_number

Kind = type | tuple[type, ...]
Rule = Callable[[Any], str | None]


@dataclass(frozen=True)
class Check:
    """One option's YAML type and the rules its value must pass."""

    kind: Kind
    rules: tuple[Rule, ...] = ()

    def __call__(self, path: str, value: Any) -> Any:
        """``value`` checked against the kind only (the rules run in ``read_options``)."""
        return check_type(path, value, self.kind)


def option(kind: Kind, *rules: Rule, default: Any = None) -> Any:
    """A dataclass field that is a spec option of type ``kind`` passing ``rules``."""
    return dataclasses.field(default=default, metadata={"check": Check(kind, rules)})


def above(low: float) -> Rule:
    def rule(value: Any) -> str | None:
        return None if value > low else f"must be > {low}, got {value}"

    return rule


def at_least(low: float) -> Rule:
    def rule(value: Any) -> str | None:
        return None if value >= low else f"must be >= {low}, got {value}"

    return rule


def between(low: float, high: float) -> Rule:
    def rule(value: Any) -> str | None:
        return None if low <= value <= high else f"must be in [{low}, {high}], got {value}"

    return rule


def two_factors(value: Any) -> str | None:
    """PBT's perturbation factors: two positive numbers."""
    if len(value) == 2 and all(
        isinstance(f, int | float) and not isinstance(f, bool) and f > 0 for f in value
    ):
        return None
    return f"must be two numbers > 0 such as [1.2, 0.8], got {shown(value)}"


def names_list(value: Any) -> str | None:
    """A non-empty list of parameter names."""
    if value and all(isinstance(n, str) for n in value):
        return None
    return f"must be a list of parameter names, got {shown(value)}"


def type_name(kind: Kind) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return names[float] if float in kinds else " or ".join(names.get(k, k.__name__) for k in kinds)


def check_type(path: str, value: Any, kind: Kind) -> Any:
    """``value`` if it is of ``kind`` (a bool is no integer) and a finite, 64-bit number."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise SpecError(path, f"must be {type_name(kind)}, got {shown(value)}")
    if not isinstance(value, kinds):
        raise SpecError(path, f"must be {type_name(kind)}, got {shown(value)}")
    check_number(path, value)
    return value


def get(
    raw: Mapping[str, Any],
    key: str,
    kind: Kind,
    *,
    required: bool = False,
    default: Any = None,
    prefix: str = "",
) -> Any:
    """``raw[key]`` checked to be of ``kind``; ``default`` when absent or null."""
    path = f"{prefix}{key}"
    if key not in raw or raw[key] is None:
        if required:
            raise SpecError(path, "required key is missing")
        return default
    return check_type(path, raw[key], kind)


def no_unknown_keys(prefix: str, raw: Mapping[str, Any], known: set[str]) -> None:
    """SpecError for the first key not in ``known``, with the closest known one as a hint."""
    for key in raw:
        if key not in known:
            suggestion = closest(str(key), known)
            hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
            raise SpecError(f"{prefix}{key}", f"unknown key{hint}")


def mapping(path: str, value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else SpecError at ``path``."""
    if not isinstance(value, Mapping):
        raise SpecError(path, f"must be a mapping, got {shown(value)}")
    return value


def read_options(cls: type, raw: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The options of ``raw`` that variant ``cls`` declares: every type first, then every rule
    (a bool option has no range)."""
    declared = [f for f in dataclasses.fields(cls) if "check" in f.metadata]
    found = {
        f.name: f.metadata["check"](f"{prefix}{f.name}", raw[f.name])
        for f in declared
        if raw.get(f.name) is not None
    }
    for f in declared:
        if f.name not in found or isinstance(found[f.name], bool):
            continue
        for rule in f.metadata["check"].rules:
            problem = rule(found[f.name])
            if problem is not None:
                raise SpecError(f"{prefix}{f.name}", problem)
    return found
