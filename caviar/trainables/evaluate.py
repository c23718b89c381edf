"""Test scoring: a selected trial's saved model, scored once on the held-out test set.

The test set (``data.test``, a packaged set's own test split, or ``data.test_fraction``) never
feeds selection: trials report validation metrics only, and the sweep picks its best trial (and
its confirmation trials) on those. Afterwards the orchestrator calls ``score_trial`` once for each
selected trial and writes the result into that trial's ``test_<metric>`` columns.

The built-in torch trainables (mlp, cnn) are scored from the trial's last checkpoint: the model is
rebuilt from the trial's config and loaded from the state the shared loop saved (one model per
fold with ``data.folds``; the scores are the mean over folds, as the validation scores are).
"""

from __future__ import annotations

import importlib
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from caviar.trainables.data import DataSpec, load_dataset

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

    from caviar.trainables.loop import ModelFamily

logger = logging.getLogger(__name__)

# The file a trial's checkpoint directory holds (``{"iteration": i, "state": ...}``), as the
# trial context saves it.
STATE_FILE = "state.pt"


def score_trial(
    trainable: str,
    config: Mapping[str, Any],
    checkpoint: str | Path | None,
    data: DataSpec | None,
) -> dict[str, float]:
    """The test metrics (``test_loss``, ``test_accuracy``, ...) of one trial's saved model.

    ``config``: the trial's config (sweep columns and absent conditional knobs are dropped);
    ``checkpoint``: its checkpoint directory (or the state file in it). Empty when the data has
    no test set, or the trainable cannot be scored here (a user's function, a scikit-learn
    estimator, a trial without a checkpoint). ValueError when the checkpoint does not fit the
    config.
    """
    if data is None or checkpoint is None:
        return {}
    family = builtin_family(trainable)
    if family is None:
        logger.info("test scoring: %s is not a built-in torch trainable; not scored", trainable)
        return {}
    dataset = load_dataset(data)
    if dataset.x_test is None:
        return {}
    from caviar.trainables.checkpoint_io import load_state

    path = Path(checkpoint)
    saved = load_state(path / STATE_FILE if path.is_dir() else path)
    state = saved["state"] if isinstance(saved, dict) and "state" in saved else saved
    cfg = family.with_defaults(knob_values(config, family))
    splits = dataset.folds or (dataset,)
    fold_states = state.get("folds", [state])
    if len(fold_states) != len(splits):
        raise ValueError(
            f"checkpoint: holds {len(fold_states)} models, the data has {len(splits)} folds"
        )
    scores = []
    for split, fold_state in zip(splits, fold_states, strict=True):
        model = family.build(cfg, split)
        try:
            model.load_state_dict(fold_state["model"])
        except RuntimeError as error:  # another architecture than the config's
            first = str(error).strip().splitlines()[0]
            raise ValueError(
                f"checkpoint: does not fit the {trainable} of this config: {first}"
            ) from None
        assert split.x_test is not None and split.y_test is not None
        scores.append(score_model(model, split.x_test, split.y_test, split.task))
    return {key: sum(s[key] for s in scores) / len(scores) for key in scores[0]}


def score_member(
    config: Mapping[str, Any],
    checkpoint: str | Path | None,
    member: int,
    data: DataSpec | None,
) -> dict[str, float]:
    """The test metrics of member ``member`` of a fused mlp bundle, from the bundle's checkpoint
    (``bundle.member_weights``: the stack's weights, or those kept when it left the stack).

    ``config``: the member's own config. Empty when the data has no test set; ValueError when the
    checkpoint holds no weights of that member (it diverged, or left before a checkpoint kept it).
    """
    if data is None or checkpoint is None:
        return {}
    dataset = load_dataset(data)
    if dataset.x_test is None or dataset.y_test is None:
        return {}
    import torch

    from caviar.trainables.bundle import member_weights
    from caviar.trainables.checkpoint_io import load_state
    from caviar.trainables.mlp import MLP

    path = Path(checkpoint)
    saved = load_state(path / STATE_FILE if path.is_dir() else path)
    weights = member_weights(saved["state"], member)
    if weights is None:
        raise ValueError(f"checkpoint: holds no weights of member {member} of the bundle")
    model = MLP.build(MLP.with_defaults(knob_values(config, MLP)), dataset)
    try:
        with torch.no_grad():
            for parameter, weight in zip(model.parameters(), weights, strict=True):
                parameter.copy_(weight)
    except (RuntimeError, ValueError) as error:
        first = str(error).strip().splitlines()[0]
        raise ValueError(f"checkpoint: member {member} does not fit its config: {first}") from None
    return score_model(model, dataset.x_test, dataset.y_test, dataset.task)


def builtin_family(trainable: str) -> ModelFamily | None:
    """The ``loop.ModelFamily`` of a built-in torch trainable, or None for any other trainable."""
    from caviar.trainables.protocol import BUILTIN_FAMILIES

    where = BUILTIN_FAMILIES.get(trainable)
    if where is None:
        return None
    module, _, attribute = where.partition(":")
    family: ModelFamily = getattr(importlib.import_module(module), attribute)
    return family


def knob_values(config: Mapping[str, Any], family: ModelFamily) -> dict[str, Any]:
    """The family's knobs from a trial's config as a results table gives it back: other columns
    and absent (None/NaN) values dropped, whole floats of integer knobs made integers again."""
    values: dict[str, Any] = {}
    for name, value in config.items():
        knob = family.knobs.get(name)
        if knob is None or value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if hasattr(value, "item"):
            value = value.item()  # numpy scalars from a DataFrame row
        if knob.kind is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        values[name] = value
    return values


def score_model(model: nn.Module, x: np.ndarray, y: np.ndarray, task: str) -> dict[str, float]:
    """``test_loss`` (and ``test_accuracy`` for classification) of ``model`` on ``x``, ``y``."""
    import torch

    from caviar.trainables.loop import task_loss

    model.eval()
    with torch.no_grad():
        inputs, target = torch.from_numpy(x), torch.from_numpy(y)
        output: torch.Tensor = model(inputs)
        scores = {"test_loss": float(task_loss(output, target, task))}
        if task == "classification":
            scores["test_accuracy"] = float((output.argmax(dim=1) == target).float().mean())
    return scores
