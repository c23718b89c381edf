"""Commands for Ray clusters: templates (``cluster init``) and sweeps as Ray jobs."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from caviar.cli.app import DashboardOption, SetOption, SpecPath, app
from caviar.cli.render import note

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


@app.command()
def submit(
    spec_path: SpecPath,
    address: DashboardOption,
    working_dir: Annotated[
        str, typer.Option("--working-dir", help="Directory uploaded with the job (holds SPEC).")
    ] = ".",
    set_: SetOption = None,
) -> None:
    """Run a sweep on a Ray cluster as a Ray job; prints the job id."""
    from caviar.cluster import jobs
    from caviar.cluster.upload import plan_upload
    from caviar.orchestrator.spec import load_spec

    spec = load_spec(spec_path, list(set_ or []))  # bad input fails here, before uploading
    if "://" not in spec.storage and not spec.storage.startswith("/"):
        note(
            f"warning: storage {spec.storage!r} is relative: results land in the job's "
            "working directory on the head; use an absolute shared path or s3://"
        )
    upload = plan_upload(working_dir)
    print(upload.summary(), file=sys.stderr)  # before anything goes
    job_id = jobs.submit(spec_path, address, working_dir, list(set_ or []), upload=upload)
    print(job_id)
    note(f"submitted; follow it with `caviar logs {job_id} --follow --address {address}`")


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
