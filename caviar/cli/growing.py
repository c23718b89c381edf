"""Commands that grow a sweep: extend, continue, zoom (and ``run --warm-start``, in ``sweeps``)."""

from __future__ import annotations

from typing import Annotated

import typer

from caviar.cli.app import AddressOption, SweepDir, app
from caviar.cli.render import exit_for, note, out, summarize


@app.command(name="extend")
def extend_command(
    sweep_dir: SweepDir,
    trials: Annotated[int, typer.Option("--trials", help="How many more trials.")],
    time_s: Annotated[
        float | None, typer.Option("--time", help="Stop the extension after S seconds.")
    ] = None,
    address: AddressOption = None,
) -> None:
    """Give a sweep N more trials; its search goes on where it stopped."""
    from caviar.cluster.connect import connected
    from caviar.search.grow import check_extend
    from caviar.tune.grow import extend

    extension = check_extend(sweep_dir, trials, time_s)  # bad input fails here, before Ray
    out.print(f"caviar: extending {sweep_dir} by {trials} trials")
    with connected(address) as description:
        out.print(description)
        outcome = extend(extension)
    spec = extension.spec
    summarize(sweep_dir, spec.objective, list(spec.space.searched))
    exit_for(outcome)


@app.command(name="continue")
def continue_command(
    sweep_dir: SweepDir,
    top: Annotated[int, typer.Option("--top", help="Continue this many best trials.")],
    epochs: Annotated[int, typer.Option("--epochs", help="Train them on to this many epochs.")],
    address: AddressOption = None,
) -> None:
    """Train the best trials on from their last checkpoints, under the same trial ids."""
    from caviar.cluster.connect import connected
    from caviar.search.continuation import check_continue
    from caviar.tune.continuation import continue_trials

    continuation = check_continue(sweep_dir, top, epochs)  # bad input fails here, before Ray
    for line in continuation.notes:
        note(line)
    out.print(
        f"caviar: continuing {len(continuation.chosen)} trials to {epochs} epochs: "
        + ", ".join(continuation.chosen),
        soft_wrap=True,
    )
    with connected(address) as description:
        out.print(description)
        outcome = continue_trials(continuation)
    spec = continuation.spec
    summarize(sweep_dir, spec.objective, list(spec.space.searched))
    exit_for(outcome)


@app.command(name="zoom")
def zoom_command(
    sweep_dir: SweepDir,
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", help="Spec to write; default <name>-zoom.yaml here."),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Zoom around this many best trials.")] = 5,
    margin: Annotated[
        float, typer.Option("--margin", help="Beyond their range, as a fraction of the old one.")
    ] = 0.1,
) -> None:
    """Write the next coarse-to-fine spec: ranges narrowed around the best trials, commented."""
    from caviar.search.next_spec import write_zoom

    zoomed, path = write_zoom(sweep_dir, output, top, margin)
    for name, comment in zoomed.comments.items():
        out.print(f"  {name}: {comment}", soft_wrap=True, highlight=False)
    out.print(f"caviar: wrote {path}; review it, then `caviar run {path}`", soft_wrap=True)
