"""The one error type for bad user input: it names where (a key path) and what is wrong."""

from __future__ import annotations

import re
from typing import Any

# The longest message (and quoted value) shown: a hostile spec must not print megabytes.
MAX_MESSAGE = 600
MAX_VALUE = 80
MAX_PATH = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` on one line (control characters escaped, ``\\n`` for a newline) and at most
    ``limit`` characters, the rest cut with the count of what was left out."""
    text = _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def shown(value: Any, limit: int = MAX_VALUE) -> str:
    """``repr(value)`` shortened for a message, without building the repr of a huge value."""
    if isinstance(value, str | bytes):
        text = repr(value[: limit + 1])
    elif isinstance(value, list | tuple | dict | set) and len(value) > limit:
        text = f"<{type(value).__name__} of {len(value)} items>"
    else:
        text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


class SpecError(ValueError):
    """Bad input, found before anything runs. The CLI prints it on one line and exits 2.

    The path and message are kept to one line of bounded length, whatever the input held.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = one_line(path, MAX_PATH)
        self.message = one_line(message)
        super().__init__(f"{self.path}: {self.message}" if path else self.message)


class SweepFailed(RuntimeError):
    """The sweep stopped on a problem found while it ran (results unwritable, metric never
    reported). The CLI prints it on one line and exits 1; what was written stays readable."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


def sweep_failure(error: BaseException) -> SweepFailed | None:
    """The SweepFailed that ``error`` wraps (Ray Tune re-raises callback errors as TuneError)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, SweepFailed):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def closest(word: str, candidates: set[str]) -> str | None:
    """The candidate nearest to a mistyped ``word``, for a "did you mean" hint, or None."""
    import difflib

    matches = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def nested_error(prefix: str, error: Exception) -> SpecError:
    """``"lr: low must be > 0"`` from a lower layer, as ``SpecError("space.lr", "low must be > 0")``."""
    message = str(error)
    key, sep, rest = message.partition(": ")
    if sep and key.isidentifier():
        return SpecError(f"{prefix}.{key}", rest)
    return SpecError(prefix, message)


class UnreadableResults(RuntimeError):
    """Stored results this caviar cannot read: a newer schema, not a caviar sweep, a missing or
    damaged file. Not bad input (exit 2) but a problem with what is on disk: the CLI prints it on
    one line and exits 1."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))
