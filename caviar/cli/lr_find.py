"""``caviar lr-find``: the LR range test of the built-in mlp, without Ray."""

from __future__ import annotations

from typing import Annotated

import typer

from caviar.cli.app import app
from caviar.errors import SpecError


@app.command(name="lr-find")
def lr_find(
    spec_path: Annotated[str, typer.Argument(metavar="SPEC", help="Sweep spec (YAML) of the mlp.")],
    min_lr: Annotated[float, typer.Option("--min-lr", help="First lr of the test.")] = 1e-7,
    max_lr: Annotated[float, typer.Option("--max-lr", help="Last lr of the test.")] = 10.0,
    steps: Annotated[int, typer.Option(help="Batches (one lr each).")] = 100,
    output: Annotated[str, typer.Option("-o", "--output", help="Plot (PNG).")] = "lr_find.png",
) -> None:
    """LR range test: plot loss vs lr (log axis), print the suggested lr. Starts no Ray."""
    from caviar.errors import nested_error
    from caviar.orchestrator.spec import load_spec
    from caviar.trainables.data import load_dataset
    from caviar.trainables.lr_find import lr_range_test, representative_config, save_plot

    spec = load_spec(spec_path, [])
    if spec.trainable != "mlp" or spec.data is None:
        raise SpecError("trainable", f"lr-find needs the built-in mlp, got {spec.trainable!r}")
    try:
        data = load_dataset(spec.data)
    except ValueError as error:
        raise nested_error("data", error) from None
    config = representative_config({name: spec.space[name] for name in spec.space})
    try:
        result = lr_range_test(config, data, min_lr=min_lr, max_lr=max_lr, steps=steps)
    except ValueError as error:
        raise SpecError("", str(error)) from None
    save_plot(result, output)
    print(f"suggested lr: {result.suggested_lr:.3g}")
    print(f"suggested range: lr: {result.range_text()}")
    if "lr" in spec.space.searched:  # the same form as `caviar zoom` writes
        from caviar.orchestrator.next_spec import range_comment
        from caviar.search_spaces import parse

        new = parse(result.range_text())
        why = f"lr-find's range around its suggestion {result.suggested_lr:.3g}"
        print(f"  # lr: {range_comment(spec.space['lr'], new, why)}")
        print(f"  lr: {result.range_text()}")
    print(f"plot: {output}")
