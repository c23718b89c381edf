"""What the anytime benchmark's trials run: caviar's built-in mlp and cnn, test-scored each epoch.

An anytime curve is the test accuracy of the best-by-validation model against wall time, so each
reported epoch needs, besides its validation metrics (which alone drive selection and early
stopping), the test accuracy of the model as it stands and the wall clock. caviar's own test
scoring runs once, at the end, for the selected trials, so here:

- ``caviar_mlp`` and ``caviar_cnn`` run caviar's built-in model families unchanged (the shared
  epoch loop, ``loop.train_family``) on the problem's arrays (benchmarks.problems), and at each
  report score the reported model state on the test rows and add ``anytime_test_accuracy`` and
  ``wall_clock`` to the report. Checkpoints reach Tune at the config's ``checkpoint_every``, as
  the built-in trainables send them.
- ``train_builtin`` runs the same family and loop for the peers (benchmarks/peers.py), reporting
  each epoch to a callback that Optuna's pruner or Ray Tune's scheduler answers. The peers thus
  train exactly the model caviar trains (layers, init, optimizer, lr schedule, batch order): only
  the search and the early stopping differ between the tools.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from benchmarks.problems import Arrays, arrays

if TYPE_CHECKING:
    from caviar.trainables.data import Dataset
    from caviar.trainables.loop import ModelFamily

# Config keys that the benchmark adds for its own trainable; the built-in family never sees them.
PROBLEM_KEY = "problem"
# The per-epoch test score of caviar's trials: not ``test_accuracy``, which is the name of caviar's
# own test score of its selected trials in trials.parquet.
TEST_KEY = "anytime_test_accuracy"


def family(model: str) -> ModelFamily:
    """caviar's built-in model family ``mlp`` or ``cnn``."""
    if model == "cnn":
        from caviar.trainables.cnn import CNN

        return CNN
    if model == "mlp":
        from caviar.trainables.mlp import MLP

        return MLP
    raise ValueError(f"unknown model {model!r} (known: mlp, cnn)")


def dataset(rows: Arrays) -> Dataset:
    """The problem's rows as the built-in trainables take them (already standardized)."""
    from caviar.trainables.data import Dataset

    return Dataset(
        rows.x_train,
        rows.y_train,
        rows.x_val,
        rows.y_val,
        "classification",
        rows.n_classes,
        shape=rows.shape or None,
    )


def _model_state(state: Any) -> Mapping[str, torch.Tensor] | None:
    """The model weights inside the built-in loop's checkpoint state (its first fold's)."""
    if isinstance(state, Mapping):
        if "model" in state and isinstance(state["model"], Mapping):
            return state["model"]
        for value in state.values():
            found = _model_state(value[0] if isinstance(value, list) and value else value)
            if found is not None:
                return found
    return None


def test_scorer(model: str, cfg: Mapping[str, Any], rows: Arrays) -> Callable[[Any], float]:
    """Scores a checkpoint state of ``model`` built from ``cfg``: its accuracy on the test rows."""
    scored = family(model).build(cfg, dataset(rows))
    x_test, y_test = torch.from_numpy(rows.x_test), torch.from_numpy(rows.y_test)

    def score(state: Any) -> float:
        weights = _model_state(state)
        if weights is None:
            return float("nan")
        scored.load_state_dict({k: v.detach().cpu() for k, v in weights.items()})
        return accuracy(scored, x_test, y_test)

    return score


class _AnytimeContext:
    """Passes everything to caviar's context; each report gains test_accuracy and wall_clock."""

    def __init__(self, ctx: Any, data: Any, scorer: Callable[[Any], float], every: int, last: int):
        self._ctx = ctx
        self._data = data
        self._score = scorer
        self._every = every
        self._last = last

    @property
    def data(self) -> Any:
        return self._data

    def report(self, checkpoint: Any = None, **metrics: Any) -> None:
        epoch = int(self._ctx.iteration) + 1
        test = self._score(checkpoint) if checkpoint is not None else float("nan")
        keep = epoch == self._last or epoch % self._every == 0
        self._ctx.report(
            **metrics,
            **{TEST_KEY: test},
            wall_clock=time.time(),
            checkpoint=checkpoint if keep else None,
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


def _caviar_trainable(model: str, config: dict[str, Any], ctx: Any) -> None:
    """caviar's built-in ``model`` on the problem whose ``.npz`` is ``config["problem"]``,
    test-scored each epoch."""
    from caviar.trainables.loop import train_family

    config = dict(config)
    rows = arrays(str(config.pop(PROBLEM_KEY)))
    models = family(model)
    cfg = models.with_defaults(config)
    every = max(1, int(cfg["checkpoint_every"]))
    score = test_scorer(model, cfg, rows)
    # Every epoch's state is wanted for its test score; Tune still gets checkpoints as configured.
    wrapped = _AnytimeContext(ctx, dataset(rows), score, every, int(cfg["epochs"]))
    train_family(models, {**config, "checkpoint_every": 1}, wrapped)  # type: ignore[arg-type]


def caviar_mlp(config: dict[str, Any], ctx: Any) -> None:
    """caviar's built-in mlp, test-scored each epoch (see the module)."""
    _caviar_trainable("mlp", config, ctx)


def caviar_cnn(config: dict[str, Any], ctx: Any) -> None:
    """caviar's built-in cnn, test-scored each epoch (see the module)."""
    _caviar_trainable("cnn", config, ctx)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return float((model(x).argmax(dim=1) == y).float().mean())


# report(epoch, metrics) -> True to stop the trial (a pruner or scheduler said so)
Report = Callable[[int, dict[str, float]], bool]


class _Stopped(Exception):
    """The peer's pruner or scheduler stopped the trial."""


class _PeerContext:
    """The built-in loop's ctx outside caviar (no Ray imported: Optuna's process has none): each
    epoch goes to ``report``, test-scored."""

    def __init__(self, rows: Arrays, score: Callable[[Any], float], report: Report) -> None:
        self.data = dataset(rows)
        self.device = torch.device("cpu")
        self.iteration = 0
        self._score = score
        self._report = report

    def restore(self) -> Any:
        return None  # the peers' trials always start fresh

    def report(self, checkpoint: Any = None, **metrics: Any) -> None:
        self.iteration += 1
        out = {
            "val_loss": float(metrics["val_loss"]),
            "val_accuracy": float(metrics["val_accuracy"]),
            "test_accuracy": self._score(checkpoint),
            "wall_clock": time.time(),
        }
        if self._report(self.iteration, out):
            raise _Stopped


def train_builtin(
    model: str, config: Mapping[str, Any], problem: str, epochs: int, report: Report
) -> None:
    """Train caviar's built-in ``model`` on the ``.npz`` at ``problem`` for up to ``epochs``,
    reporting val and test metrics each epoch, until ``report`` says stop."""
    from caviar.trainables.loop import train_family

    rows = arrays(problem)
    models = family(model)
    cfg = models.with_defaults({**config, "epochs": epochs, "checkpoint_every": 1})
    ctx = _PeerContext(rows, test_scorer(model, cfg, rows), report)
    try:
        train_family(models, cfg, ctx)  # type: ignore[arg-type]
    except _Stopped:
        return
