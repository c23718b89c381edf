"""What `caviar submit` uploads: .gitignore/.rayignore honoured, secrets and sweeps left out,
counted before it goes, and the same files as the package Ray itself builds."""

from __future__ import annotations

import zipfile
from pathlib import Path

import yaml

from caviar.cluster.upload import plan_upload
from tests.cluster.conftest import free_port
from tests.conftest import run_cli, small_spec

UPLOADED = {"sweep.yaml", "train.py", "data.csv", "pkg/model.py", ".gitignore", ".rayignore"}


def working_dir(tmp_path: Path) -> Path:
    root = tmp_path / "job"
    files = {
        "sweep.yaml": yaml.safe_dump(small_spec(tmp_path)),
        "train.py": "def train(config, ctx):\n    pass\n",
        "data.csv": "a,y\n1,0\n",
        "pkg/model.py": "x = 1\n",
        ".gitignore": "big/\n",
        ".rayignore": "*.log\n",
        "big/blob.bin": "x" * 10_000,
        "run.log": "noise\n",
        ".env": "AWS_SECRET_ACCESS_KEY=abc\n",
        "credentials": "[default]\n",
        "pkg/deploy.pem": "-----BEGIN PRIVATE KEY-----\n",
        ".aws/config": "[default]\n",
        "old_runs/sweep1/sweep.yaml": "name: sweep1\n",
        "old_runs/sweep1/trials.parquet": "not really parquet",
        "results/small/sweep.yaml": "name: small\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_upload_leaves_out_ignored_files_secrets_and_sweeps(tmp_path: Path) -> None:
    upload = plan_upload(working_dir(tmp_path))
    assert set(upload.files) == UPLOADED  # today: .env, credentials, the key, old_runs/ go up
    assert set(upload.secrets_left_out) == {".env", "credentials", "pkg/deploy.pem", ".aws/"}
    assert upload.sweeps_left_out == ("old_runs/sweep1/",)
    assert upload.size_bytes == sum((upload.root / f).stat().st_size for f in upload.files)
    assert f"uploading {len(UPLOADED)} files" in upload.summary()


def test_ray_packs_exactly_the_planned_files(tmp_path: Path) -> None:
    """Ground truth: the zip Ray's own packaging builds from the same working_dir and excludes."""
    from ray._private.runtime_env.packaging import create_package

    root = working_dir(tmp_path)
    upload = plan_upload(root)
    package = tmp_path / "package.zip"
    create_package(str(root), package, include_gitignore=True, excludes=upload.excludes)
    with zipfile.ZipFile(package) as archive:
        packed = {name for name in archive.namelist() if not name.endswith("/")}
    assert packed == set(upload.files)


def test_submit_prints_what_it_uploads_before_it_goes(tmp_path: Path) -> None:
    root = working_dir(tmp_path)
    address = f"http://127.0.0.1:{free_port()}"  # nothing answers: nothing is sent
    done = run_cli("submit", "sweep.yaml", "--address", address, cwd=root, timeout=60)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2
    assert lines[0].startswith(f"caviar: uploading {len(UPLOADED)} files ("), done.stderr
    assert ".env" in lines[0] and "old_runs/sweep1/ (a sweep)" in lines[0]
    assert lines[-1].startswith("caviar: error: --address: cannot connect")


def test_a_spec_left_out_of_the_upload_is_bad_input(tmp_path: Path) -> None:
    root = working_dir(tmp_path)
    (root / "runs.yaml").write_text((root / "sweep.yaml").read_text())
    (root / ".rayignore").write_text("*.log\nruns.yaml\n")
    address = f"http://127.0.0.1:{free_port()}"
    done = run_cli("submit", "runs.yaml", "--address", address, cwd=root, timeout=60)
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("caviar: error: SPEC: runs.yaml would not be uploaded")
    ), done.stderr
