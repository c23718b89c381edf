"""Optional packages the spec may ask for, probed in one place (without importing them).

Trackers a spec may switch on (Parquet is always on), with the package each needs installed:
caviar's own MLflow and TensorBoard writers (caviar/results/trackers), Ray's W&B callback.
"""

from __future__ import annotations

import importlib.util

LOGGERS = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb"}
# How to install each: caviar's extras where it has one.
LOGGER_INSTALL = {
    "tensorboard": "pip install 'caviar-sweep[tensorboard]'",
    "mlflow": "pip install 'caviar-sweep[mlflow]'",
    "wandb": "pip install wandb",
}


def installed(package: str) -> bool:
    """Whether ``package`` can be imported here (found on the path; nothing is imported)."""
    return importlib.util.find_spec(package) is not None


def missing_tracker(name: str) -> str | None:
    """Why tracker ``name`` cannot run here (its package and how to install it), or None."""
    package = LOGGERS[name]
    if installed(package):
        return None
    return f"{name} needs the {package!r} package, which is not installed: {LOGGER_INSTALL[name]}"
