"""Cluster templates: shipped as package data, written by `caviar cluster init`, each checked offline
as strongly as possible: Ray's own cluster-config schema for the launcher YAMLs, required fields for
the KubeRay manifests, `bash -n` and a dry run with stub SLURM/Ray commands for the sbatch script
(SLURM is not available here: scontrol, srun, hostname, ray and caviar are stubs on PATH that
record how they were called)."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from caviar.cluster.scaffold import TEMPLATES, template_text
from tests.conftest import run_cli


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_cluster_init_writes_the_templates(tmp_path: Path, kind: str) -> None:
    result = run_cli("cluster", "init", kind, str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    for name in TEMPLATES[kind]:
        assert (tmp_path / "out" / name).read_text() == template_text(name)
    again = run_cli("cluster", "init", kind, str(tmp_path / "out"))
    assert again.returncode == 2 and "use --force" in again.stderr


def test_unknown_kind_is_bad_input(tmp_path: Path) -> None:
    result = run_cli("cluster", "init", "azure", str(tmp_path))
    assert result.returncode == 2 and "must be one of aws, gcp, kuberay, slurm" in result.stderr


@pytest.mark.parametrize("name", ["aws.yaml", "gcp.yaml"])
def test_launcher_configs_pass_rays_schema(name: str) -> None:
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = yaml.safe_load(template_text(name))
    validate_config(prepare_config(copy.deepcopy(config)))  # raises on any schema violation
    types = config["available_node_types"]
    gpu_types = [t for t in types.values() if t["resources"].get("GPU", 0) >= 1]
    assert gpu_types and all(t["max_workers"] > t.get("min_workers", 0) for t in gpu_types)
    assert config["head_node_type"] in types
    assert any("caviar-sweep" in command for command in config["setup_commands"])


def test_a_broken_launcher_config_fails_rays_schema() -> None:
    """The schema check above can fail: an unknown key is rejected."""
    import jsonschema
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = yaml.safe_load(template_text("aws.yaml"))
    config["available_node_types"]["gpu_worker"]["gpus"] = 1
    with pytest.raises(jsonschema.ValidationError):
        validate_config(prepare_config(config))


def _containers(pod_template: dict[str, Any]) -> list[dict[str, Any]]:
    containers = pod_template["spec"]["containers"]
    assert containers and all(c["name"] and c["image"] for c in containers)
    return list(containers)


def _check_ray_cluster_spec(spec: dict[str, Any]) -> None:
    assert spec["rayVersion"] and spec["enableInTreeAutoscaling"] is True
    head = spec["headGroupSpec"]
    assert isinstance(head["rayStartParams"], dict)
    _containers(head["template"])
    groups = spec["workerGroupSpecs"]
    for group in groups:
        assert group["groupName"] and isinstance(group["rayStartParams"], dict)
        assert 0 <= group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
        _containers(group["template"])
    gpu_limits = [
        c["resources"]["limits"].get("nvidia.com/gpu")
        for g in groups
        for c in g["template"]["spec"]["containers"]
    ]
    assert any(gpu_limits), "no GPU worker group"


def test_kuberay_manifests_have_the_required_fields() -> None:
    cluster = yaml.safe_load(template_text("kuberay-raycluster.yaml"))
    assert cluster["apiVersion"] == "ray.io/v1" and cluster["kind"] == "RayCluster"
    assert cluster["metadata"]["name"]
    _check_ray_cluster_spec(cluster["spec"])

    job = yaml.safe_load(template_text("kuberay-rayjob.yaml"))
    assert job["apiVersion"] == "ray.io/v1" and job["kind"] == "RayJob"
    assert job["metadata"]["name"]
    assert job["spec"]["entrypoint"].startswith("caviar run ")
    assert "--address auto" in job["spec"]["entrypoint"]
    assert "caviar-sweep" in yaml.safe_load(job["spec"]["runtimeEnvYAML"])["pip"]
    _check_ray_cluster_spec(job["spec"]["rayClusterSpec"])


STUBS = {
    "scontrol": 'echo "$*" >> "$LOG/scontrol"; printf "node1\\nnode2\\nnode3\\n"',
    "srun": (
        'echo "$*" >> "$LOG/srun"\n'
        'while [[ "$1" == -* ]]; do [[ "$1" == -w ]] && shift; shift; done\nexec "$@"'
    ),
    "hostname": 'echo "10.1.2.3 fe80::1"',
    "ray": 'echo "$*" >> "$LOG/ray"; echo "$RAY_AUTH_MODE ${#RAY_AUTH_TOKEN}" >> "$LOG/ray-auth"',
    "caviar": 'echo "$*" >> "$LOG/caviar"; echo "$RAY_AUTH_MODE ${#RAY_AUTH_TOKEN}" >> "$LOG/ray-auth"',
}


def test_sbatch_script_parses_and_dry_runs(tmp_path: Path) -> None:
    script = tmp_path / "slurm.sbatch"
    script.write_text(template_text("slurm.sbatch"))
    bash = shutil.which("bash")
    assert bash
    assert subprocess.run([bash, "-n", str(script)], capture_output=True).returncode == 0

    stubs, log = tmp_path / "bin", tmp_path / "log"
    stubs.mkdir()
    log.mkdir()
    for name, body in STUBS.items():
        (stubs / name).write_text(f"#!{bash}\n{body}\n")
        (stubs / name).chmod(0o755)
    env = {
        "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}",
        "LOG": str(log),
        "SLURM_JOB_NODELIST": "node[1-3]",
        "SLURM_CPUS_PER_TASK": "16",
        "SLURM_GPUS_PER_TASK": "1",
        "CAVIAR_RAY_WAIT_S": "0",
    }
    result = subprocess.run(
        [bash, str(script), "my-sweep.yaml"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    port = int(result.stdout.split("(10.1.2.3:", 1)[1].split(")", 1)[0])
    assert "Ray head on node1 (10.1.2.3:" in result.stdout and "), 3 nodes" in result.stdout
    ray_calls = sorted((log / "ray").read_text().splitlines())
    heads = [c for c in ray_calls if "--head" in c]
    workers = [c for c in ray_calls if f"--address=10.1.2.3:{port}" in c]
    assert len(heads) == 1 and len(workers) == 2, ray_calls
    assert "--node-ip-address=10.1.2.3" in heads[0] and "--num-gpus=1" in heads[0]
    assert all("--num-cpus=16" in c and "--block" in c for c in ray_calls)
    srun_calls = (log / "srun").read_text()
    assert "-w node2" in srun_calls and "-w node3" in srun_calls
    assert (log / "caviar").read_text().strip() == f"run my-sweep.yaml --address 10.1.2.3:{port}"
    # Security (issue 23): a per-job port and token, nodes not shared, the token on no command line.
    assert port != 6379 and f"--port={port}" in heads[0]
    assert set((log / "ray-auth").read_text().splitlines()) == {"token 64"}  # 3 rays + caviar
    assert "#SBATCH --exclusive" in template_text("slurm.sbatch")
    assert "--include-dashboard=false" in heads[0]
    assert not any("RAY_AUTH_TOKEN" in c or "token" in c for c in ray_calls)


@pytest.mark.parametrize("name", ["aws.yaml", "gcp.yaml"])
def test_launcher_dashboards_listen_on_localhost_only(name: str) -> None:
    """Ray's Jobs API has no authentication of its own: the dashboard is reached by SSH tunnel."""
    config = yaml.safe_load(template_text(name))
    head = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head and "0.0.0.0" not in head
    assert "ray dashboard" in template_text(name) and "http://127.0.0.1:8265" in template_text(name)
