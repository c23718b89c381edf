"""The one line of a failed trial's traceback that the trials table keeps: the exception and its
message (``ValueError: lr must be > 0``), not the frames above it."""

from __future__ import annotations

import re

# The line of a traceback that names the exception: "ValueError: ...", "MemoryError".
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b(:.*)?$")
NO_ERROR_TEXT = "the trial failed (no error text was recorded)"


def error_line(text: object) -> str:
    """The last line of ``text`` (a traceback) that names an exception; else its last line with a
    message; ``NO_ERROR_TEXT`` when there is no text at all."""
    lines = [line.strip() for line in str(text or "").strip().splitlines() if line.strip()]
    if not lines:
        return NO_ERROR_TEXT
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line):
            return line
    for line in reversed(lines):
        if ":" in line and not line.startswith("File "):
            return line
    return lines[-1]
