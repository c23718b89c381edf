"""Commands on one sweep: run, resume, show, ls, compact, report, export."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from caviar.analysis.sweep import read_spec, reading
from caviar.cli.app import AddressOption, SetOption, SpecPath, SweepDir, app
from caviar.cli.exits import EXIT_FAILED
from caviar.cli.render import best_text, exit_for, out, summarize, summarize_stored
from caviar.errors import SpecError


@app.command()
def run(
    spec_path: SpecPath,
    address: AddressOption = None,
    storage: Annotated[str | None, typer.Option(help="Override the spec's storage.")] = None,
    name: Annotated[str | None, typer.Option(help="Override the spec's name.")] = None,
    set_: SetOption = None,
    num_cpus: Annotated[int | None, typer.Option(help="CPUs of the embedded Ray.")] = None,
    warm_start: Annotated[
        str | None,
        typer.Option("--warm-start", help="Start the search from this earlier sweep's results."),
    ] = None,
    with_dashboard: Annotated[
        bool, typer.Option("--dashboard", help="Serve the live page beside the sweep.")
    ] = False,
    dashboard_port: Annotated[int, typer.Option(help="The live page's port.")] = 8270,
    dashboard_host: Annotated[str, typer.Option(help="The live page's address.")] = "127.0.0.1",
) -> None:
    """Run a sweep."""
    from caviar.cli.live import dashboard_beside
    from caviar.cluster.connect import starting
    from caviar.results.lock import sweep_lock
    from caviar.spec.load import load_spec
    from caviar.tune.checks import prepare

    overrides = list(set_ or [])
    if storage is not None:
        overrides.append(f"storage={storage}")
    if name is not None:
        overrides.append(f"name={name}")
    spec = load_spec(spec_path, overrides)
    warm = None
    if warm_start is not None:  # checked before Ray starts, like the spec
        from caviar.search.warm_start import WARM_START, load_warm_start
        from caviar.spec.history import with_entry
        from caviar.spec.parse import parse_spec

        warm = load_warm_start(warm_start, spec)
        spec = parse_spec(with_entry(dict(spec.raw), WARM_START, **warm.record()))
    store = prepare(spec)  # every check that needs no Ray, before Ray starts
    out.print(f"caviar: sweep [bold]{spec.name}[/] -> {spec.sweep_uri}")
    if warm is not None:
        out.print(warm.summary, soft_wrap=True, highlight=False)
    beside = (
        dashboard_beside(spec.sweep_uri, dashboard_host, dashboard_port) if with_dashboard else {}
    )
    with sweep_lock(store, "run"), starting(address, num_cpus) as ray_start:
        from caviar.tune.run import run_sweep  # Ray Tune and the sweep's parts, while Ray starts

        out.print(ray_start.wait())
        outcome = run_sweep(spec, warm=warm)
    server = beside.get("server")
    if server is not None:
        server.stop()
    objective = spec.objective
    summarize(outcome.sweep_uri, objective, list(spec.space.searched))
    exit_for(outcome)


@app.command()
def resume(sweep_dir: SweepDir, address: AddressOption = None) -> None:
    """Continue an interrupted sweep; trials that finished are not run again."""
    from caviar.cluster.connect import connected
    from caviar.results.lock import sweep_lock
    from caviar.results.store import SweepStore
    from caviar.tune.resume_guards import check_resumable
    from caviar.tune.run import resume_sweep

    stored = read_spec(sweep_dir)
    store = SweepStore.at(sweep_dir)
    with sweep_lock(store, "resume"):  # one driver per sweep: a second one exits 2 here
        finished = check_resumable(store, sweep_dir)  # before Ray starts: bad input is exit 2
        if finished is not None:
            out.print(f"caviar: {finished}")
            summarize_stored(stored)
            return
        with connected(address) as description:
            out.print(description)
            outcome = resume_sweep(sweep_dir)
    summarize_stored(stored)
    exit_for(outcome)


@app.command()
def show(
    sweep_dir: SweepDir,
    top: Annotated[int, typer.Option(help="How many of the best trials to list.")] = 10,
) -> None:
    """Print a sweep's spec and its best trials."""
    stored = read_spec(sweep_dir)
    out.print(stored.text.rstrip())
    summarize_stored(stored, top)


@app.command(name="ls")
def list_sweeps(storage: Annotated[str, typer.Argument(metavar="STORAGE")] = "results") -> None:
    """List the sweeps under a storage root."""
    from rich.table import Table

    from caviar.results.readers import read_trials, sweep_dirs

    try:
        dirs = sweep_dirs(storage)
    except FileNotFoundError as error:
        raise SpecError("STORAGE", str(error)) from None
    table = Table("sweep", "trials", "status", "best", "started")
    for directory in dirs:
        objective = read_spec(directory, "STORAGE").objective
        with reading(directory):
            trials = read_trials(directory)
        counts = trials["status"].value_counts().to_dict() if len(trials) else {}
        started = (
            str(trials["started_at"].min())[:19] if "started_at" in trials and len(trials) else "-"
        )
        status = ", ".join(f"{n} {str(s).lower()}" for s, n in sorted(counts.items()))
        name = directory.rsplit("/", 1)[-1]
        table.add_row(name, str(len(trials)), status, best_text(trials, objective), started)
    out.print(table)


@app.command()
def compact(
    sweep_dir: SweepDir,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Also rewrite what can be read of damaged parts; move the originals to quarantine/.",
        ),
    ] = False,
) -> None:
    """Merge a sweep's small curves parts (refused while a driver writes the sweep)."""
    import warnings

    from caviar.results.lock import sweep_lock
    from caviar.results.store import SweepStore

    read_spec(sweep_dir)
    store = SweepStore.at(sweep_dir)
    with warnings.catch_warnings(), sweep_lock(store, "compact"):
        warnings.simplefilter("ignore")  # unreadable parts are reported below, once each
        report = store.compact(repair=repair)
    out.print(
        f"caviar: merged {report.merged} parts into one ({report.rows} rows); "
        f"{report.temporaries_removed} leftover temporary files removed"
    )
    for path, moved in zip(report.repaired, report.quarantined, strict=True):
        out.print(f"caviar: repaired {path}: readable rows kept, original moved to {moved}")
    if report.skipped:
        for path in report.skipped:
            print(f"caviar: unreadable part left in place: {path}", file=sys.stderr)
        print(
            "caviar: run `caviar compact --repair` to keep what can be read of them",
            file=sys.stderr,
        )
        raise typer.Exit(EXIT_FAILED)


@app.command()
def report(
    sweep_dir: SweepDir,
    output: Annotated[
        str | None,
        typer.Option(
            "-o", "--output", help="HTML file to write; default SWEEP_DIR/report.html (local)."
        ),
    ] = None,
) -> None:
    """Write one self-contained HTML report of a sweep (also while it runs)."""
    from caviar.analysis.report import build_report, default_output

    info = build_report(sweep_dir, output or default_output(sweep_dir))
    out.print(
        f"caviar: report of {info.trials} trials -> {info.path} "
        f"({info.size_bytes / 1e6:.1f} MB, {info.seconds:.1f} s)",
        soft_wrap=True,
    )


@app.command()
def export(
    tracker: Annotated[str, typer.Argument(metavar="TRACKER", help="mlflow | tensorboard")],
    sweep_dir: SweepDir,
    tracking_uri: Annotated[
        str | None,
        typer.Option("--tracking-uri", help="MLflow store, e.g. sqlite:///mlflow.db."),
    ] = None,
    experiment: Annotated[
        str | None, typer.Option(help="MLflow experiment (default: the sweep's name).")
    ] = None,
    logdir: Annotated[
        str | None, typer.Option(help="TensorBoard logdir (default: SWEEP_DIR/tensorboard).")
    ] = None,
) -> None:
    """Replay a sweep's results into MLflow (a parent run, a child per trial) or TensorBoard."""
    import importlib.util

    from caviar.results.trackers import TRACKERS, default_logdir, export_sweep
    from caviar.spec.packages import LOGGER_INSTALL, LOGGERS

    if tracker not in TRACKERS:
        raise SpecError("TRACKER", f"must be one of {', '.join(TRACKERS)}, got {tracker!r}")
    if importlib.util.find_spec(LOGGERS[tracker]) is None:
        raise SpecError(
            "TRACKER",
            f"{tracker} needs the {LOGGERS[tracker]!r} package, which is not installed: "
            f"{LOGGER_INSTALL[tracker]}",
        )
    stored = read_spec(sweep_dir).raw.get(tracker) or {}
    given = {"tracking_uri": tracking_uri, "experiment": experiment, "logdir": logdir}
    options = {**stored, **{k: v for k, v in given.items() if v is not None}}
    trials, rows = export_sweep(sweep_dir, tracker, options)
    if tracker == "tensorboard":
        where = str(options.get("logdir") or default_logdir(sweep_dir))
    else:
        where = str(options.get("tracking_uri") or "MLflow's default tracking URI")
    out.print(
        f"caviar: exported {trials} trials ({rows} results) of {sweep_dir} to {tracker} at {where}"
    )
