"""Text form of distributions: ``"loguniform(1e-4, 1)"`` -> ``loguniform(1e-4, 1)``.

Parsed with ``ast`` and ``ast.literal_eval`` on each argument, never ``eval``: a spec file cannot run
code. A string that is not a call (``"adam"``) is a constant.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from caviar.search_spaces.distributions import FACTORIES, Constant, Distribution

_CALL_START = re.compile(r"^\s*[A-Za-z_][\w.]*\s*\(")


def looks_like_call(text: str) -> bool:
    """Whether ``text`` is written as a call, ``name(...)``: then it must be a distribution.

    A broken call (``"loguniform(1e-4,"``) counts too, so that it is reported rather than taken
    for a string constant.
    """
    return bool(_CALL_START.match(text))


def parse(text: str) -> Distribution:
    """Parse one distribution written as in Python, e.g. ``integer(50, 100)``.

    Raises ValueError naming the problem: unknown distribution, bad syntax, non-literal argument,
    or the distribution's own check (``loguniform: low must be > 0, got 0.0``).
    """
    if not isinstance(text, str):
        raise ValueError(f"expected a distribution as text, got {text!r}")
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as error:
        raise ValueError(f"cannot parse {text!r}: {error.msg}") from None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise ValueError(f"expected a call such as loguniform(1e-4, 1), got {text!r}")
    name = node.func.id
    factory = FACTORIES.get(name)
    if factory is None:
        known = ", ".join(sorted(FACTORIES))
        raise ValueError(f"unknown distribution {name!r} (known: {known})")
    args = [value for arg in node.args for value in _arguments(arg, name)]
    kwargs = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            raise ValueError(f"{name}: ** arguments are not allowed")
        kwargs[keyword.arg] = _literal(keyword.value, name)
    try:
        result = factory(*args, **kwargs)
    except TypeError as error:
        raise ValueError(f"{name}: bad arguments in {text.strip()!r} ({error})") from None
    assert isinstance(result, Distribution)
    return result


def _literal(node: ast.expr, name: str) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise ValueError(
            f"{name}: arguments must be literal numbers or strings, got {ast.unparse(node)!r}"
        ) from None


# Value generators a call may take as an argument, spliced in as its values:
# ``grid(logspace(-4, 4, 100))`` is ``grid`` of 100 values, as numpy.logspace makes them.
SEQUENCES = {"logspace", "linspace"}
MAX_SEQUENCE = 10_000


def _arguments(node: ast.expr, name: str) -> list[Any]:
    """One argument of a call: a literal, or ``logspace(a, b, n)`` / ``linspace(a, b, n)`` as n values."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in SEQUENCES
        and not node.keywords
    ):
        return [_literal(node, name)]
    sequence = node.func.id
    bounds = [_literal(arg, name) for arg in node.args]
    if len(bounds) != 3 or not all(
        isinstance(b, int | float) and not isinstance(b, bool) for b in bounds
    ):
        raise ValueError(f"{name}: {sequence} takes (start, stop, num), got {ast.unparse(node)!r}")
    start, stop, num = bounds
    if not isinstance(num, int) or not 1 <= num <= MAX_SEQUENCE:
        raise ValueError(
            f"{name}: {sequence} num must be an integer in [1, {MAX_SEQUENCE}], got {num!r}"
        )
    import numpy as np

    make = np.logspace if sequence == "logspace" else np.linspace
    return [float(v) for v in make(float(start), float(stop), num)]


def parse_value(value: Any) -> Distribution:
    """A value from a spec's ``space:``: a call string is a distribution, anything else a constant."""
    if isinstance(value, Distribution):
        return value
    if isinstance(value, str) and looks_like_call(value):
        return parse(value)
    if isinstance(value, list | tuple):
        raise ValueError(
            f"a list is ambiguous here, got {value!r}: write choice(...) or grid(...) instead"
        )
    if isinstance(value, dict):
        raise ValueError(f"expected a distribution or a constant, got a mapping {value!r}")
    if value is None:
        raise ValueError("expected a distribution or a constant, got null")
    return Constant(value)
