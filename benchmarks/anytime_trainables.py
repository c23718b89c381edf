"""What the anytime benchmark's trials run: caviar's built-in mlp, and the same model for the peers.

An anytime curve is the test accuracy of the best-by-validation model against wall time, so each
reported epoch needs, besides its validation metrics (which alone drive selection and early
stopping), the test accuracy of the model as it stands and the wall clock. caviar's own test
scoring runs once, at the end, for the selected trials, so here:

- ``caviar_mlp`` runs caviar's built-in ``train_mlp`` unchanged on the problem's arrays
  (benchmarks.problems), and at each report scores the reported model state on the test rows and
  adds ``anytime_test_accuracy`` and ``wall_clock`` to the report. Checkpoints reach Tune at the config's
  ``checkpoint_every``, as the built-in mlp sends them.
- ``train_torch`` is the same architecture (Linear -> ReLU -> Dropout per hidden layer, a linear
  head, PyTorch's default init, Adam with weight decay, cross-entropy, a shuffled batch order),
  written as a user of Optuna or Ray Tune writes it, for benchmarks/peers.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from benchmarks.problems import Arrays, arrays

# Config keys that the benchmark adds for its own trainable; the built-in mlp never sees them.
PROBLEM_KEY = "problem"
# The per-epoch test score of caviar's trials: not ``test_accuracy``, which is the name of caviar's
# own test score of its selected trials in trials.parquet.
TEST_KEY = "anytime_test_accuracy"


def _model_state(state: Any) -> Mapping[str, torch.Tensor] | None:
    """The model weights inside the built-in mlp's checkpoint state (its first fold's)."""
    if isinstance(state, Mapping):
        if "model" in state and isinstance(state["model"], Mapping):
            return state["model"]
        for value in state.values():
            found = _model_state(value[0] if isinstance(value, list) and value else value)
            if found is not None:
                return found
    return None


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


def caviar_mlp(config: dict[str, Any], ctx: Any) -> None:
    """caviar's built-in mlp on the problem whose ``.npz`` is ``config["problem"]``, test-scored
    each epoch."""
    from caviar.trainables.data import Dataset
    from caviar.trainables.mlp import build_model, train_mlp, with_defaults

    config = dict(config)
    rows = arrays(str(config.pop(PROBLEM_KEY)))
    cfg = with_defaults(config)
    every = max(1, int(cfg["checkpoint_every"]))
    data = Dataset(
        rows.x_train, rows.y_train, rows.x_val, rows.y_val, "classification", rows.n_classes
    )
    model = build_model(cfg, rows.n_features, rows.n_classes)
    x_test, y_test = torch.from_numpy(rows.x_test), torch.from_numpy(rows.y_test)

    def score(state: Any) -> float:
        weights = _model_state(state)
        if weights is None:
            return float("nan")
        model.load_state_dict({k: v.detach().cpu() for k, v in weights.items()})
        return accuracy(model, x_test, y_test)

    # Every epoch's state is wanted for its test score; Tune still gets checkpoints as configured.
    wrapped = _AnytimeContext(ctx, data, score, every, int(cfg["epochs"]))
    train_mlp({**config, "checkpoint_every": 1}, wrapped)  # type: ignore[arg-type]


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return float((model(x).argmax(dim=1) == y).float().mean())


def peer_model(config: Mapping[str, Any], n_inputs: int, n_outputs: int) -> nn.Sequential:
    """The mlp as a PyTorch user writes it: the built-in mlp's layers with the same defaults."""
    modules: list[nn.Module] = []
    width = n_inputs
    for _ in range(int(config["layers"])):
        modules += [nn.Linear(width, int(config["hidden_units"])), nn.ReLU()]
        if float(config["dropout"]) > 0:
            modules.append(nn.Dropout(float(config["dropout"])))
        width = int(config["hidden_units"])
    modules.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*modules)


# report(epoch, metrics) -> True to stop the trial (a pruner or scheduler said so)
Report = Callable[[int, dict[str, float]], bool]


def train_torch(config: Mapping[str, Any], problem: str, epochs: int, report: Report) -> None:
    """Train the peers' mlp on the ``.npz`` at ``problem`` for up to ``epochs``, reporting val and
    test metrics each epoch."""
    rows: Arrays = arrays(problem)
    seed = int(config.get("seed", 0))
    torch.manual_seed(seed)
    model = peer_model(config, rows.n_features, rows.n_classes)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=float(config["lr"]), weight_decay=float(config["weight_decay"])
    )
    loss_fn = nn.CrossEntropyLoss()
    x, y = torch.from_numpy(rows.x_train), torch.from_numpy(rows.y_train)
    x_val, y_val = torch.from_numpy(rows.x_val), torch.from_numpy(rows.y_val)
    x_test, y_test = torch.from_numpy(rows.x_test), torch.from_numpy(rows.y_test)
    order = torch.Generator().manual_seed(seed + 1)
    batch = int(config["batch_size"])
    for epoch in range(1, epochs + 1):
        model.train()
        for index in torch.split(torch.randperm(len(x), generator=order), batch):
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x[index]), y[index]).backward()
            optimizer.step()
        with torch.no_grad():
            model.eval()
            output = model(x_val)
            metrics = {
                "val_loss": float(loss_fn(output, y_val)),
                "val_accuracy": float((output.argmax(dim=1) == y_val).float().mean()),
                "test_accuracy": accuracy(model, x_test, y_test),
                "wall_clock": time.time(),
            }
        if report(epoch, metrics):
            return
