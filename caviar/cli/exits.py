"""Exit codes of the ``caviar`` command, and the one place an error becomes a code and a line.

0 done; 1 the sweep itself failed (results unwritable, the trainable never reports the sweep's
metric) or its stored results cannot be read (a newer schema, a damaged sweep.yaml); 2 bad input
(nothing written); 130 interrupted (Ctrl-C; ``caviar resume`` continues). Every error is one
line on stderr, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from caviar.errors import SpecError, SweepFailed, UnreadableResults

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

# The errors a command lets through, and what each means for the person who ran it.
ERROR_EXITS: tuple[tuple[type[Exception], int], ...] = (
    (SpecError, EXIT_BAD_INPUT),
    (SweepFailed, EXIT_FAILED),
    (UnreadableResults, EXIT_FAILED),
)


def exit_code(error: BaseException) -> int | None:
    """The exit code for an error caviar raises on purpose; None for any other (a bug)."""
    for kind, code in ERROR_EXITS:
        if isinstance(error, kind):
            return code
    return None


def fail(message: str) -> None:
    """One ``caviar: error:`` line on stderr."""
    print(f"caviar: error: {message}", file=sys.stderr)


def run(app: typer.Typer, args: Sequence[str]) -> None:
    """Run the command line ``args``; returns when it is done, else exits with its code, one
    line on stderr for every error caviar raises on purpose."""
    try:
        code = app(args=list(args) or ["--help"], standalone_mode=False)
        # Without standalone mode, click returns a typer.Exit's code instead of exiting with it.
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Exit as error:
        sys.exit(error.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("caviar: interrupted; continue with `caviar resume SWEEP_DIR`", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except typer.TyperException as error:  # usage errors: unknown option, missing argument
        text = error.format_message() if hasattr(error, "format_message") else str(error)
        fail(" ".join(text.split()))
        sys.exit(EXIT_BAD_INPUT)
    except Exception as error:
        code = exit_code(error)
        if code is None:
            raise
        fail(str(error))
        sys.exit(code)
