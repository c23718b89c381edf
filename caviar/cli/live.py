"""Commands on a running sweep: the live dashboard and steering (stop a sweep, a trial, a job)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from caviar.analysis.sweep import read_spec, reading
from caviar.cli.app import SweepDir, app
from caviar.cli.render import note
from caviar.errors import SpecError

trial_app = typer.Typer(no_args_is_help=True, help="Steer one trial of a running sweep.")
app.add_typer(trial_app, name="trial")

ENDED = ("TERMINATED", "ERROR", "STOPPED")


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
        from caviar.results.control import request_stop_sweep

        read_spec(target)
        request = request_stop_sweep(target)
        print(f"caviar: asked {target} to stop (request {request.id}); its trials end STOPPED")
        return
    from caviar.cluster import jobs

    stopped = jobs.stop(target, address)
    print(f"caviar: {'stopping' if stopped else 'already ended:'} {target}")


@trial_app.command("stop")
def trial_stop(
    sweep_dir: SweepDir,
    trial_id: Annotated[str, typer.Argument(metavar="TRIAL")],
) -> None:
    """Stop one trial of a running sweep: it ends STOPPED, its rows so far kept."""
    from caviar.results.control import request_stop_trial
    from caviar.results.readers import read_trials

    read_spec(sweep_dir)
    with reading(sweep_dir):
        trials = read_trials(sweep_dir, columns=["status"])
    known = dict(zip(trials["trial_id"].astype(str), trials["status"].astype(str), strict=True))
    if trial_id not in known:
        raise SpecError("TRIAL", f"no trial {trial_id!r} in {sweep_dir}")
    if known[trial_id] in ENDED:
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


def dashboard_beside(sweep_uri: str, host: str, port: int) -> dict[str, Any]:
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
            note(f"warning: no dashboard: {error}")
            return
        holder["server"] = server
        print(f"caviar: dashboard at {server.url}", file=sys.stderr, flush=True)

    thread = threading.Thread(target=start, daemon=True, name="caviar-dashboard")
    thread.start()
    return holder
