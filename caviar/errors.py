"""The one error type for bad user input: it names where (a key path) and what is wrong."""

from __future__ import annotations


class SpecError(ValueError):
    """Bad input, found before anything runs. The CLI prints it on one line and exits 2."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class SweepFailed(RuntimeError):
    """The sweep stopped on a problem found while it ran (results unwritable, metric never
    reported). The CLI prints it on one line and exits 1; what was written stays readable."""


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
