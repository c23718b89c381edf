"""Cluster templates shipped with caviar (package data), written out by ``caviar cluster init``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from caviar.errors import SpecError

# What `caviar cluster init KIND` writes: file names inside caviar/cluster/templates/.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "aws": ("aws.yaml",),
    "gcp": ("gcp.yaml",),
    "kuberay": ("kuberay-raycluster.yaml", "kuberay-rayjob.yaml"),
    "slurm": ("slurm.sbatch",),
}


def template_text(name: str) -> str:
    """The text of one shipped template file."""
    return (resources.files("caviar.cluster") / "templates" / name).read_text(encoding="utf-8")


def write_templates(kind: str, directory: str = ".", overwrite: bool = False) -> list[Path]:
    """Write the templates of ``kind`` into ``directory``; never overwrites unless asked."""
    if kind not in TEMPLATES:
        raise SpecError("KIND", f"must be one of {', '.join(TEMPLATES)}, got {kind!r}")
    target = Path(directory)
    paths = [target / name for name in TEMPLATES[kind]]
    existing = [str(p) for p in paths if p.exists()]
    if existing and not overwrite:
        raise SpecError("DIR", f"{', '.join(existing)} exists; use --force to replace it")
    target.mkdir(parents=True, exist_ok=True)
    for path in paths:
        path.write_text(template_text(path.name), encoding="utf-8")
        if path.suffix == ".sbatch":
            path.chmod(0o755)
    return paths
