"""The ``caviar`` command (Typer), and growing a sweep from Python (``caviar.cli.grow``).

``app`` holds the Typer application and shared options, ``exits`` the exit codes and the one place
an error becomes a code and a line, ``render`` what is printed (rich tables), and one module per
group of commands: ``sweeps`` (run, resume, show, ls, compact, report, export), ``jobs`` (cluster
templates, Ray jobs), ``lr_find``, ``growing`` (extend, continue, zoom) and ``live`` (dashboard,
steering). Importing this package loads none of them: ``caviar.cli.grow`` stays light.
"""

from __future__ import annotations

import importlib
import logging
import sys

# The modules that register commands on ``caviar.cli.app.app``, in the order ``--help`` lists them.
COMMANDS = ("sweeps", "jobs", "live", "lr_find", "growing")


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line messages and exit codes (``caviar.cli.exits``), never a traceback
    for an error caviar raises on purpose.

    As the command (``argv`` None: the console script, ``python -m caviar.cli``) it ends the
    process itself once the command is done (``exit_promptly``); called with ``argv`` (tests,
    scripts) it returns or raises SystemExit as any function does.
    """
    show_warnings()
    for module in COMMANDS:
        importlib.import_module(f"caviar.cli.{module}")
    from caviar.cli.app import app
    from caviar.cli.exits import run

    if argv is not None:
        run(app, argv)
        return
    code: int | str | None = 0
    try:
        run(app, sys.argv[1:])
    except SystemExit as exit_:
        code = exit_.code
    exit_promptly(code)


def exit_promptly(code: int | str | None) -> None:
    """Exit with ``code`` after Python's own exit work, without the interpreter's teardown.

    By now the command's results are on storage (the results callback flushed them before
    ``Tuner.fit`` returned, and the summary read them back) and the embedded Ray was shut down.
    What remains of a normal exit after the atexit handlers is freeing every module, where Ray's
    native library takes seconds (its threads, on a loaded machine over ten); the threads that
    are still working are joined and the atexit handlers run, then the process ends.
    """
    import atexit
    import os
    import threading

    if isinstance(code, str):  # sys.exit("message") prints it and exits 1
        print(code, file=sys.stderr)
        code = 1
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code or 0)


def show_warnings() -> None:
    """Library code logs (``logging``); the command shows the ``caviar`` logger's warnings on
    stderr as ``caviar: warning: ...`` lines. Installed once, whoever calls ``main`` again."""
    logger = logging.getLogger("caviar")
    if any(getattr(handler, "caviar_cli", False) for handler in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LineFormatter())
    handler.caviar_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)


class _LineFormatter(logging.Formatter):
    """``caviar: warning: message`` (the level in lower case, as the CLI's own lines read)."""

    def format(self, record: logging.LogRecord) -> str:
        return f"caviar: {record.levelname.lower()}: {record.getMessage()}"
