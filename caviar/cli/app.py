"""The ``caviar`` Typer application and the options several commands share.

The commands live in the modules beside this one (``sweeps``, ``jobs``, ``lr_find``, ``growing``,
``live``), each registering on ``app``; ``caviar.cli.main`` imports them all and runs it.
"""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Caviar-mode hyperparameter sweeps: many models in parallel, every result in Parquet.",
)

AddressOption = Annotated[
    str | None,
    typer.Option(
        "--address",
        help="Ray to use: 'auto' (a `ray start` cluster), ray://HOST:10001; default: an embedded Ray.",
    ),
]
DashboardOption = Annotated[
    str,
    typer.Option("--address", help="The head's dashboard: http://HEAD:8265 (Ray Jobs API)."),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a spec key: --set search.num_samples=8."),
]
SweepDir = Annotated[str, typer.Argument(metavar="SWEEP_DIR")]
SpecPath = Annotated[str, typer.Argument(metavar="SPEC", help="Sweep spec (YAML).")]
