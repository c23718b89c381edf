"""The one error type for bad user input: it names where (a key path) and what is wrong."""

from __future__ import annotations


class SpecError(ValueError):
    """Bad input, found before anything runs. The CLI prints it on one line and exits 2."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)
