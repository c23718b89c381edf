"""Growing a sweep from Python (notebooks, the dashboard): the same as the commands.

>>> import caviar
>>> caviar.extend("results/demo", trials=16)                       # doctest: +SKIP
>>> caviar.continue_trials("results/demo", top=3, epochs=40)       # doctest: +SKIP
>>> caviar.zoom("results/demo", "next.yaml", top=5)                # doctest: +SKIP

Each checks its input first (``caviar.errors.SpecError``, one line, nothing written) and connects
to Ray only to run trials: an embedded one, or ``address`` as in ``caviar run --address``. Ray is
imported only when one of them is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from caviar.orchestrator.run import SweepOutcome


def extend(
    sweep_dir: str,
    trials: int,
    time_s: float | None = None,
    address: str | None = None,
    show_progress: bool = False,
) -> SweepOutcome:
    """Give a finished or interrupted sweep ``trials`` more trials; its search goes on."""
    from caviar.cluster.connect import connected
    from caviar.orchestrator.grow import check_extend
    from caviar.orchestrator.grow import extend as run_extension

    extension = check_extend(sweep_dir, trials, time_s)
    with connected(address):
        return run_extension(extension, show_progress)


def request_more_trials(sweep_dir: str, trials: int, address: str | None = None) -> SweepOutcome:
    """What a dashboard asks for: ``trials`` more trials for a sweep.

    A sweep that another driver is running is refused (SpecError, one line): two Tune loops on
    one experiment would run trials twice. A stopped sweep is extended here, as ``extend`` does.
    """
    return extend(sweep_dir, trials, address=address)


def continue_trials(
    sweep_dir: str,
    top: int,
    epochs: int,
    address: str | None = None,
    show_progress: bool = False,
) -> SweepOutcome:
    """Train the ``top`` best trials on from their last checkpoints to ``epochs`` epochs."""
    from caviar.cluster.connect import connected
    from caviar.orchestrator.continuation import check_continue
    from caviar.orchestrator.continuation import continue_trials as run_continuation

    continuation = check_continue(sweep_dir, top, epochs)
    with connected(address):
        return run_continuation(continuation, show_progress)


def zoom(sweep_dir: str, output: str | None = None, top: int = 5, margin: float = 0.1) -> str:
    """Write the next spec, narrowed around the ``top`` best trials; returns the path written."""
    from caviar.orchestrator.next_spec import write_zoom

    return write_zoom(sweep_dir, output, top, margin)[1]
