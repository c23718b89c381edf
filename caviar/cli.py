"""The ``caviar`` command.

Exit codes: 0 done, 1 the sweep itself failed (results unwritable, the trainable never reports the
sweep's metric: one line on stderr), 2 bad input (one line on stderr, nothing written),
130 interrupted (Ctrl-C; ``caviar resume`` continues).
"""

from __future__ import annotations

import math
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from caviar.errors import SpecError, SweepFailed

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 1, 2, 130

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Caviar-mode hyperparameter sweeps: many models in parallel, every result in Parquet.",
)
# Tables are wide (one column per hyperparameter): when the output is not a terminal, rich would
# wrap them at 80 columns, so it gets 160.
out = Console(width=None if sys.stdout.isatty() else 160)


class BadInput(Exception):
    """Raised inside commands for input errors found after parsing."""


AddressOption = Annotated[
    str | None,
    typer.Option(
        "--address",
        help="Ray to use: 'auto' (a `ray start` cluster), ray://HOST:10001; default: an embedded Ray.",
    ),
]


@app.command()
def run(
    spec_path: Annotated[str, typer.Argument(metavar="SPEC", help="Sweep spec (YAML).")],
    address: AddressOption = None,
    storage: Annotated[str | None, typer.Option(help="Override the spec's storage.")] = None,
    name: Annotated[str | None, typer.Option(help="Override the spec's name.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a spec key: --set search.num_samples=8."),
    ] = None,
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
    from caviar.cluster.connect import connected
    from caviar.orchestrator.run import prepare, run_sweep
    from caviar.orchestrator.spec import load_spec
    from caviar.results.lock import sweep_lock

    overrides = list(set_ or [])
    if storage is not None:
        overrides.append(f"storage={storage}")
    if name is not None:
        overrides.append(f"name={name}")
    spec = load_spec(spec_path, overrides)
    warm = None
    if warm_start is not None:  # checked before Ray starts, like the spec
        from caviar.orchestrator.history import with_entry
        from caviar.orchestrator.spec import parse_spec
        from caviar.orchestrator.warm_start import WARM_START, load_warm_start

        warm = load_warm_start(warm_start, spec)
        spec = parse_spec(with_entry(dict(spec.raw), WARM_START, **warm.record()))
    store = prepare(spec)  # every check that needs no Ray, before Ray starts
    out.print(f"caviar: sweep [bold]{spec.name}[/] -> {spec.sweep_uri}")
    if warm is not None:
        out.print(warm.summary, soft_wrap=True, highlight=False)
    beside = (
        _dashboard_beside(spec.sweep_uri, dashboard_host, dashboard_port) if with_dashboard else {}
    )
    with sweep_lock(store, "run"), connected(address, num_cpus) as description:
        out.print(description)
        outcome = run_sweep(spec, warm=warm)
    server = beside.get("server")
    if server is not None:
        server.stop()
    _summarize(outcome.sweep_uri, spec.metric, spec.mode)
    _exit_for(outcome)


@app.command()
def resume(
    sweep_dir: Annotated[str, typer.Argument(metavar="SWEEP_DIR")],
    address: AddressOption = None,
) -> None:
    """Continue an interrupted sweep; trials that finished are not run again."""
    from caviar.cluster.connect import connected
    from caviar.orchestrator.resume_guards import check_resumable
    from caviar.orchestrator.run import resume_sweep
    from caviar.results.lock import sweep_lock
    from caviar.results.store import SPEC_FILE, SweepStore

    store = SweepStore.at(sweep_dir)
    if not store.exists(SPEC_FILE):
        raise SpecError("SWEEP_DIR", f"no caviar sweep at {sweep_dir} ({SPEC_FILE} not found)")
    with sweep_lock(store, "resume"):  # one driver per sweep: a second one exits 2 here
        finished = check_resumable(store, sweep_dir)  # before Ray starts: bad input is exit 2
        if finished is not None:
            import yaml

            out.print(f"caviar: {finished}")
            raw = yaml.safe_load(store.read_text(SPEC_FILE))
            _summarize(sweep_dir, raw["metric"], raw.get("mode", "min"))
            return
        with connected(address) as description:
            out.print(description)
            outcome = resume_sweep(sweep_dir)
    import yaml

    raw = yaml.safe_load(SweepStore.at(sweep_dir).read_text(SPEC_FILE))
    _summarize(sweep_dir, *_primary(raw))
    _exit_for(outcome)


@app.command()
def show(
    sweep_dir: Annotated[str, typer.Argument(metavar="SWEEP_DIR")],
    top: Annotated[int, typer.Option(help="How many of the best trials to list.")] = 10,
) -> None:
    """Print a sweep's spec and its best trials."""
    import yaml

    from caviar.results.store import SPEC_FILE, SweepStore

    store = SweepStore.at(sweep_dir)
    if not store.exists(SPEC_FILE):
        raise SpecError("SWEEP_DIR", f"no caviar sweep at {sweep_dir} ({SPEC_FILE} not found)")
    text = store.read_text(SPEC_FILE)
    out.print(text.rstrip())
    raw = yaml.safe_load(text)
    _summarize(sweep_dir, *_primary(raw), top)


@app.command(name="ls")
def list_sweeps(storage: Annotated[str, typer.Argument(metavar="STORAGE")] = "results") -> None:
    """List the sweeps under a storage root."""
    import yaml

    from caviar.results.readers import read_trials, sweep_dirs
    from caviar.results.store import SPEC_FILE, SweepStore

    try:
        dirs = sweep_dirs(storage)
    except FileNotFoundError as error:
        raise SpecError("STORAGE", str(error)) from None
    table = Table("sweep", "trials", "status", "best", "started")
    for directory in dirs:
        raw = yaml.safe_load(SweepStore.at(directory).read_text(SPEC_FILE))
        trials = read_trials(directory)
        metric, mode = _primary(raw)
        best_column = f"best_{metric}"
        best = "-"
        if best_column in trials and trials[best_column].notna().any():
            values = trials[best_column].dropna()
            best = f"{metric} {(values.min() if mode == 'min' else values.max()):.4g}"
        counts = trials["status"].value_counts().to_dict() if len(trials) else {}
        started = (
            str(trials["started_at"].min())[:19] if "started_at" in trials and len(trials) else "-"
        )
        status = ", ".join(f"{n} {str(s).lower()}" for s, n in sorted(counts.items()))
        table.add_row(directory.rsplit("/", 1)[-1], str(len(trials)), status, best, started)
    out.print(table)


@app.command()
def compact(
    sweep_dir: Annotated[str, typer.Argument(metavar="SWEEP_DIR")],
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
    from caviar.results.store import SPEC_FILE, SweepStore

    store = SweepStore.at(sweep_dir)
    if not store.exists(SPEC_FILE):
        raise SpecError("SWEEP_DIR", f"no caviar sweep at {sweep_dir} ({SPEC_FILE} not found)")
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
    sweep_dir: Annotated[str, typer.Argument(metavar="SWEEP_DIR")],
    output: Annotated[
        str | None,
        typer.Option(
            "-o", "--output", help="HTML file to write; default SWEEP_DIR/report.html (local)."
        ),
    ] = None,
) -> None:
    """Write one self-contained HTML report of a sweep (also while it runs)."""
    from caviar.results.report import build_report, default_output
    from caviar.results.store import SPEC_FILE, SweepStore

    if not SweepStore.at(sweep_dir).exists(SPEC_FILE):
        raise SpecError("SWEEP_DIR", f"no caviar sweep at {sweep_dir} ({SPEC_FILE} not found)")
    info = build_report(sweep_dir, output or default_output(sweep_dir))
    out.print(
        f"caviar: report of {info.trials} trials -> {info.path} "
        f"({info.size_bytes / 1e6:.1f} MB, {info.seconds:.1f} s)",
        soft_wrap=True,
    )


@app.command()
def export(
    tracker: Annotated[str, typer.Argument(metavar="TRACKER", help="mlflow | tensorboard")],
    sweep_dir: Annotated[str, typer.Argument(metavar="SWEEP_DIR")],
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

    import yaml

    from caviar.orchestrator.spec import LOGGER_INSTALL, LOGGERS
    from caviar.results.store import SPEC_FILE, SweepStore
    from caviar.results.trackers import TRACKERS, export_sweep

    if tracker not in TRACKERS:
        raise SpecError("TRACKER", f"must be one of {', '.join(TRACKERS)}, got {tracker!r}")
    if importlib.util.find_spec(LOGGERS[tracker]) is None:
        raise SpecError(
            "TRACKER",
            f"{tracker} needs the {LOGGERS[tracker]!r} package, which is not installed: "
            f"{LOGGER_INSTALL[tracker]}",
        )
    store = SweepStore.at(sweep_dir)
    if not store.exists(SPEC_FILE):
        raise SpecError("SWEEP_DIR", f"no caviar sweep at {sweep_dir} ({SPEC_FILE} not found)")
    stored = (yaml.safe_load(store.read_text(SPEC_FILE)) or {}).get(tracker) or {}
    given = {"tracking_uri": tracking_uri, "experiment": experiment, "logdir": logdir}
    options = {**stored, **{k: v for k, v in given.items() if v is not None}}
    trials, rows = export_sweep(sweep_dir, tracker, options)
    from caviar.results.trackers import default_logdir

    if tracker == "tensorboard":
        where = str(options.get("logdir") or default_logdir(sweep_dir))
    else:
        where = str(options.get("tracking_uri") or "MLflow's default tracking URI")
    out.print(
        f"caviar: exported {trials} trials ({rows} results) of {sweep_dir} to {tracker} at {where}"
    )


cluster_app = typer.Typer(
    no_args_is_help=True, help="Ray cluster templates: AWS, GCP, KubeRay, SLURM."
)
app.add_typer(cluster_app, name="cluster")


@cluster_app.command("init")
def cluster_init(
    kind: Annotated[str, typer.Argument(metavar="KIND", help="aws | gcp | kuberay | slurm")],
    directory: Annotated[str, typer.Argument(metavar="[DIR]", help="Where to write.")] = ".",
    force: Annotated[bool, typer.Option("--force", help="Replace existing files.")] = False,
) -> None:
    """Write a cluster template (Ray launcher YAML, KubeRay manifests, sbatch script)."""
    from caviar.cluster.scaffold import write_templates

    for path in write_templates(kind, directory, overwrite=force):
        print(f"caviar: wrote {path}")


DashboardOption = Annotated[
    str,
    typer.Option("--address", help="The head's dashboard: http://HEAD:8265 (Ray Jobs API)."),
]


@app.command()
def submit(
    spec_path: Annotated[str, typer.Argument(metavar="SPEC", help="Sweep spec (YAML).")],
    address: DashboardOption,
    working_dir: Annotated[
        str, typer.Option("--working-dir", help="Directory uploaded with the job (holds SPEC).")
    ] = ".",
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a spec key: --set search.num_samples=8."),
    ] = None,
) -> None:
    """Run a sweep on a Ray cluster as a Ray job; prints the job id."""
    from caviar.cluster import jobs
    from caviar.orchestrator.spec import load_spec

    spec = load_spec(spec_path, list(set_ or []))  # bad input fails here, before uploading
    if "://" not in spec.storage and not spec.storage.startswith("/"):
        print(
            f"caviar: warning: storage {spec.storage!r} is relative: results land in the job's "
            "working directory on the head; use an absolute shared path or s3://",
            file=sys.stderr,
        )
    from caviar.cluster.upload import plan_upload

    upload = plan_upload(working_dir)
    print(upload.summary(), file=sys.stderr)  # before anything goes
    job_id = jobs.submit(spec_path, address, working_dir, list(set_ or []), upload=upload)
    print(job_id)
    print(
        f"caviar: submitted; follow it with `caviar logs {job_id} --follow --address {address}`",
        file=sys.stderr,
    )


@app.command()
def status(job_id: Annotated[str, typer.Argument(metavar="JOB")], address: DashboardOption) -> None:
    """Print a submitted sweep's job status (PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED)."""
    from caviar.cluster import jobs

    print(jobs.status(job_id, address))


@app.command()
def logs(
    job_id: Annotated[str, typer.Argument(metavar="JOB")],
    address: DashboardOption,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Stream until the job ends.")
    ] = False,
) -> None:
    """Print a submitted sweep's output."""
    from caviar.cluster import jobs

    if not follow:
        sys.stdout.write(jobs.logs(job_id, address))
        return
    for chunk in jobs.follow(job_id, address):
        sys.stdout.write(chunk)
        sys.stdout.flush()


@app.command()
def stop(
    target: Annotated[str, typer.Argument(metavar="SWEEP_DIR|JOB")],
    address: Annotated[
        str | None,
        typer.Option(
            "--address", help="With a JOB: the head's dashboard, http://HEAD:8265 (Ray Jobs API)."
        ),
    ] = None,
) -> None:
    """Stop a running sweep (SWEEP_DIR: its trials end STOPPED), or a submitted job (JOB --address)."""
    if address is None:
        _stop_sweep(target)
        return
    from caviar.cluster import jobs

    stopped = jobs.stop(target, address)
    print(f"caviar: {'stopping' if stopped else 'already ended:'} {target}")


def _primary(raw: dict[str, Any]) -> tuple[str, str]:
    """A stored spec's first objective: its metric, or the first of a list (multi-objective)."""
    from caviar.results.pareto import spec_objectives

    return spec_objectives(raw)[0]


def _summarize(sweep_uri: str, metric: str, mode: str, top: int = 5) -> None:
    from caviar.results.readers import read_trials

    trials = read_trials(sweep_uri)
    best_column = f"best_{metric}"
    if len(trials) == 0 or best_column not in trials:
        out.print("caviar: no results were reported")
        return
    ranked = trials.sort_values(best_column, ascending=(mode == "min"), na_position="last")
    params = _searched_params(sweep_uri)
    params = [p for p in params if p in trials.columns] + ["iterations"]
    table = Table(
        title=f"best {min(top, len(ranked))} of {len(trials)} trials by {metric} ({mode})"
    )
    for column in ["trial_id", best_column, *params]:
        table.add_column(column, overflow="fold")
    for _, row in ranked.head(top).iterrows():
        table.add_row(*(_cell(row[c]) for c in ["trial_id", best_column, *params]))
    out.print(table)
    if "pareto" in trials:  # a multi-objective sweep
        front = trials[trials["pareto"].fillna(False).astype(bool)]
        out.print(f"{len(front)} trials on the Pareto front: {', '.join(front['trial_id'])}")
    _print_confirmations(trials, metric, mode)
    stopped = int(trials["stopped_early"].fillna(False).sum()) if "stopped_early" in trials else 0
    out.print(
        f"{len(trials)} trials, {stopped} stopped early. Results (Parquet):\n"
        f"  trials: {sweep_uri.rstrip('/')}/trials.parquet\n"
        f"  curves: {sweep_uri.rstrip('/')}/curves/\n"
        f"  in Python: caviar.read_trials({sweep_uri!r}), caviar.read_curves({sweep_uri!r})"
    )


def _print_confirmations(trials: object, metric: str, mode: str) -> None:
    """The winners re-trained with fresh seeds (``confirm:``): mean and spread per config."""
    from caviar.results.confirm import summarize_confirmations

    summary = summarize_confirmations(trials, metric, mode)  # type: ignore[arg-type]
    if summary.empty:
        return
    table = Table(title=f"confirmed with fresh seeds: best_{metric}")
    for column in summary.columns:
        table.add_column(column)
    for _, row in summary.iterrows():
        table.add_row(*(_cell(row[c]) for c in summary.columns))
    out.print(table)


def _searched_params(sweep_uri: str) -> list[str]:
    """The hyperparameters that vary between trials, in the order of the spec's space."""
    import yaml

    from caviar.results.store import SPEC_FILE, SweepStore
    from caviar.search_spaces import Space

    raw = yaml.safe_load(SweepStore.at(sweep_uri).read_text(SPEC_FILE))
    return list(Space.from_dict(raw.get("space") or {}).searched)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return "-" if text in ("<NA>", "nan") else text


def _exit_for(outcome: object) -> None:
    from caviar.orchestrator.run import SweepOutcome

    assert isinstance(outcome, SweepOutcome)
    if outcome.interrupted:
        print(
            f"caviar: sweep interrupted; continue it with `caviar resume {outcome.sweep_uri}`",
            file=sys.stderr,
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    if outcome.trials and outcome.errors == outcome.trials:
        print(
            f"caviar: every trial failed; see the error column of {outcome.sweep_uri}/trials.parquet",
            file=sys.stderr,
        )
        raise typer.Exit(EXIT_FAILED)
    if outcome.errors:
        print(
            f"caviar: {outcome.errors} of {outcome.trials} trials failed (error column in trials.parquet)",
            file=sys.stderr,
        )


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


# Growing a sweep: extend, continue, zoom (and run --warm-start above).


@app.command(name="extend")
def extend_command(
    sweep_dir: Annotated[str, typer.Argument(metavar="SWEEP_DIR")],
    trials: Annotated[int, typer.Option("--trials", help="How many more trials.")],
    time_s: Annotated[
        float | None, typer.Option("--time", help="Stop the extension after S seconds.")
    ] = None,
    address: AddressOption = None,
) -> None:
    """Give a sweep N more trials; its search goes on where it stopped."""
    from caviar.cluster.connect import connected
    from caviar.orchestrator.grow import check_extend, extend

    extension = check_extend(sweep_dir, trials, time_s)  # bad input fails here, before Ray
    out.print(f"caviar: extending {sweep_dir} by {trials} trials")
    with connected(address) as description:
        out.print(description)
        outcome = extend(extension)
    _summarize(sweep_dir, extension.spec.metric, extension.spec.mode)
    _exit_for(outcome)


@app.command(name="continue")
def continue_command(
    sweep_dir: Annotated[str, typer.Argument(metavar="SWEEP_DIR")],
    top: Annotated[int, typer.Option("--top", help="Continue this many best trials.")],
    epochs: Annotated[int, typer.Option("--epochs", help="Train them on to this many epochs.")],
    address: AddressOption = None,
) -> None:
    """Train the best trials on from their last checkpoints, under the same trial ids."""
    from caviar.cluster.connect import connected
    from caviar.orchestrator.continuation import check_continue, continue_trials

    continuation = check_continue(sweep_dir, top, epochs)  # bad input fails here, before Ray
    for note in continuation.notes:
        print(f"caviar: {note}", file=sys.stderr)
    out.print(
        f"caviar: continuing {len(continuation.chosen)} trials to {epochs} epochs: "
        + ", ".join(continuation.chosen),
        soft_wrap=True,
    )
    with connected(address) as description:
        out.print(description)
        outcome = continue_trials(continuation)
    _summarize(sweep_dir, continuation.spec.metric, continuation.spec.mode)
    _exit_for(outcome)


@app.command(name="zoom")
def zoom_command(
    sweep_dir: Annotated[str, typer.Argument(metavar="SWEEP_DIR")],
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
    from caviar.orchestrator.next_spec import write_zoom

    zoomed, path = write_zoom(sweep_dir, output, top, margin)
    for name, comment in zoomed.comments.items():
        out.print(f"  {name}: {comment}", soft_wrap=True, highlight=False)
    out.print(f"caviar: wrote {path}; review it, then `caviar run {path}`", soft_wrap=True)


# Dashboard and steering (caviar.dashboard, caviar.results.control)

trial_app = typer.Typer(no_args_is_help=True, help="Steer one trial of a running sweep.")
app.add_typer(trial_app, name="trial")


def _sweep_or_bad_input(sweep_dir: str) -> None:
    from caviar.results.store import SPEC_FILE, SweepStore

    try:
        found = SweepStore.at(sweep_dir).exists(SPEC_FILE)
    except (OSError, ValueError) as error:
        raise SpecError("SWEEP_DIR", f"cannot read {sweep_dir}: {error}") from None
    if not found:
        raise SpecError("SWEEP_DIR", f"no caviar sweep at {sweep_dir} ({SPEC_FILE} not found)")


def _stop_sweep(sweep_dir: str) -> None:
    from caviar.results.control import request_stop_sweep

    _sweep_or_bad_input(sweep_dir)
    request = request_stop_sweep(sweep_dir)
    print(f"caviar: asked {sweep_dir} to stop (request {request.id}); its trials end STOPPED")


@trial_app.command("stop")
def trial_stop(
    sweep_dir: Annotated[str, typer.Argument(metavar="SWEEP_DIR")],
    trial_id: Annotated[str, typer.Argument(metavar="TRIAL")],
) -> None:
    """Stop one trial of a running sweep: it ends STOPPED, its rows so far kept."""
    from caviar.results.control import request_stop_trial
    from caviar.results.readers import read_trials

    _sweep_or_bad_input(sweep_dir)
    trials = read_trials(sweep_dir, columns=["status"])
    known = dict(zip(trials["trial_id"].astype(str), trials["status"].astype(str), strict=True))
    if trial_id not in known:
        raise SpecError("TRIAL", f"no trial {trial_id!r} in {sweep_dir}")
    if known[trial_id] in ("TERMINATED", "ERROR", "STOPPED"):
        print(f"caviar: trial {trial_id} already ended ({known[trial_id]}); nothing to stop")
        return
    try:
        request = request_stop_trial(sweep_dir, trial_id)
    except ValueError as error:
        raise SpecError("TRIAL", str(error)) from None
    print(f"caviar: asked {sweep_dir} to stop trial {trial_id} (request {request.id})")


@app.command()
def dashboard(
    path: Annotated[
        str, typer.Argument(metavar="PATH", help="A sweep directory or a storage root.")
    ],
    port: Annotated[int, typer.Option(help="Port (0: any free one).")] = 8270,
    host: Annotated[
        str, typer.Option(help="Address to bind; any but 127.0.0.1 needs the URL's token.")
    ] = "127.0.0.1",
    read_only: Annotated[bool, typer.Option("--read-only", help="No steering.")] = False,
) -> None:
    """Serve a live page of the sweeps at PATH: curves, trials, parameters, steering."""
    from caviar.dashboard.server import serve

    if not 0 <= port <= 65535:
        raise SpecError("--port", f"must be 0..65535, got {port}")
    try:
        server = serve(path, host, port, read_only)
    except FileNotFoundError as error:
        raise SpecError("PATH", str(error)) from None
    except OSError as error:
        raise SpecError(
            "--port", f"cannot listen on {host}:{port}: {error.strerror or error}"
        ) from None
    print(f"caviar: dashboard of {path} at {server.url}", flush=True)
    server.serve_forever()


def _dashboard_beside(sweep_uri: str, host: str, port: int) -> dict[str, Any]:
    """Serve the dashboard of ``sweep_uri`` from a thread, once the sweep has written its spec."""
    import threading
    import time

    from caviar.results.store import SPEC_FILE, SweepStore

    holder: dict[str, Any] = {}

    def start() -> None:
        from caviar.dashboard.server import serve

        deadline = time.monotonic() + 600
        store = SweepStore.at(sweep_uri)
        while not store.exists(SPEC_FILE) and time.monotonic() < deadline:
            time.sleep(0.2)
        try:
            server = serve(sweep_uri, host, port).start()
        except (OSError, FileNotFoundError) as error:
            print(f"caviar: warning: no dashboard: {error}", file=sys.stderr)
            return
        holder["server"] = server
        print(f"caviar: dashboard at {server.url}", file=sys.stderr, flush=True)

    thread = threading.Thread(target=start, daemon=True, name="caviar-dashboard")
    thread.start()
    return holder


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line messages and exit 2 for bad input, never a traceback for it."""
    args = sys.argv[1:] if argv is None else argv
    try:
        code = app(args=args or ["--help"], standalone_mode=False)
        # Without standalone mode, click returns a typer.Exit's code instead of exiting with it.
        if isinstance(code, int) and code:
            sys.exit(code)
    except SpecError as error:
        print(f"caviar: error: {error}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except SweepFailed as error:
        print(f"caviar: error: {error}", file=sys.stderr)
        sys.exit(EXIT_FAILED)
    except typer.Exit as error:
        sys.exit(error.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("caviar: interrupted; continue with `caviar resume SWEEP_DIR`", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except typer.TyperException as error:  # usage errors: unknown option, missing argument
        text = error.format_message() if hasattr(error, "format_message") else str(error)
        print(f"caviar: error: {' '.join(text.split())}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":
    main()
