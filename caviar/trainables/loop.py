"""The one epoch loop of the built-in torch trainables, and the rules the fused bundle shares with it.

A model family (the mlp, the cnn) gives the loop a ``ModelFamily``:

* ``name``: the trainable's name, for messages;
* ``knobs``: its config keys (``knobs.Knob``; ``knobs.TRAINING_KNOBS`` plus its architecture's);
* ``build(config, data)``: its ``nn.Module``, built under the trial's seeded global RNG. The model
  takes rows of ``data.x_train`` (``[B, n_features]`` float32; a cnn reshapes them itself) and
  returns ``[B, n_outputs(data)]``: class logits, or one value for regression.

The loop does the rest, the same for every family: the optimizer and lr schedule (``optim``), the
seeded batch order, AMP on a GPU, L1 and gradient clipping, cross-validation folds trained in
lockstep, the task's loss and metrics (``REPORTED``), checkpoints and restore. Its rules, which the
fused bundle (``bundle.py``) applies per member:

* **divergence**: an epoch whose train or val loss is not finite is reported with
  ``diverged=True`` and ends the trial, without a checkpoint (its weights are worthless; the last
  good checkpoint stays);
* **patience**: ``patience`` epochs in a row without a new best ``val_loss`` end the trial after
  reporting that epoch (0: never);
* **checkpoint timing** (``checkpoint_due``): every ``checkpoint_every`` epochs and at the trial's
  last epoch, whatever ended it (its ``epochs`` done, or its patience out), never on a diverged one;
* **the squeeze rule** (``task_loss``): decided by the task, not by the output's shape: a
  regression output ``[B, 1]`` is squeezed to ``[B]`` to meet its target, class logits never are.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.nn import functional as F

from caviar.trainables.data import Dataset
from caviar.trainables.fates import DIVERGED, FINISHED, RUNNING, STOPPED
from caviar.trainables.knobs import Knob, defaults
from caviar.trainables.optim import build_optimizer, lr_factor

if TYPE_CHECKING:
    from caviar.trainables.protocol import TrainContext

__all__ = [
    "DIVERGED",
    "FINISHED",
    "REPORTED",
    "RUNNING",
    "STOPPED",
    "BuildModel",
    "Fold",
    "ModelFamily",
    "Progress",
    "checkpoint_due",
    "diverged",
    "n_outputs",
    "task_loss",
    "train_family",
]

# What every family reports each epoch (no val_accuracy for regression).
REPORTED = ("train_loss", "val_loss", "val_accuracy", "lr_now", "epoch_time_s", "n_params")

BuildModel = Callable[[Mapping[str, Any], Dataset], nn.Module]


@dataclass(frozen=True)
class ModelFamily:
    """What a model family gives the shared loop: its name, its knobs, and how to build it."""

    name: str
    knobs: Mapping[str, Knob]
    build: BuildModel

    @property
    def defaults(self) -> dict[str, Any]:
        return defaults(self.knobs)

    def with_defaults(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The config with every missing knob at its default; unknown knobs are errors."""
        unknown = set(config) - set(self.knobs)
        if unknown:
            raise ValueError(
                f"{sorted(unknown)[0]}: not a knob of the {self.name} trainable "
                f"(known: {', '.join(sorted(self.knobs))})"
            )
        return {**self.defaults, **config}


def n_outputs(data: Dataset) -> int:
    """The model's output width: one logit per class, or one value for regression."""
    return data.n_classes if data.task == "classification" else 1


def task_loss(
    output: torch.Tensor, target: torch.Tensor, task: str, reduction: str = "mean"
) -> torch.Tensor:
    """Cross-entropy of class logits, or MSE of the squeezed regression output (the squeeze rule)."""
    if task == "classification":
        return F.cross_entropy(output, target, reduction=reduction)
    return F.mse_loss(output.squeeze(-1), target, reduction=reduction)


def diverged(metrics: Mapping[str, Any]) -> bool:
    """Whether an epoch's train or val loss is not finite."""
    return not (math.isfinite(metrics["train_loss"]) and math.isfinite(metrics["val_loss"]))


@dataclass
class Progress:
    """One trial's (or member's) standing: its best ``val_loss`` and the epochs since it improved."""

    epochs: int
    patience: int = 0
    best: float = math.inf
    since_best: int = 0

    def update(self, iteration: int, metrics: Mapping[str, Any]) -> str:
        """The fate after epoch ``iteration`` (1-based): RUNNING, FINISHED or DIVERGED."""
        if diverged(metrics):
            return DIVERGED
        if metrics["val_loss"] < self.best:
            self.best, self.since_best = float(metrics["val_loss"]), 0
        else:
            self.since_best += 1
        out_of_patience = self.patience > 0 and self.since_best >= self.patience
        return FINISHED if iteration >= self.epochs or out_of_patience else RUNNING


def checkpoint_due(iteration: int, every: int, fate: str) -> bool:
    """Whether epoch ``iteration`` (1-based) of a trial with this fate is checkpointed."""
    if fate == DIVERGED:
        return False
    return fate != RUNNING or iteration % max(1, every) == 0


@dataclass
class Fold:
    """One model with its optimizer, schedule and batch order, and the split it trains on."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    batch_order: torch.Generator
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor

    @classmethod
    def build(
        cls,
        family: ModelFamily,
        cfg: Mapping[str, Any],
        data: Dataset,
        seed: int,
        device: torch.device,
    ) -> Fold:
        """The family's model on ``data``, its batch order seeded ``seed + 1``."""
        model = family.build(cfg, data).to(device)
        optimizer = build_optimizer(cfg, model.parameters())
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: lr_factor(cfg, e))
        amp = bool(cfg["amp"]) and device.type == "cuda"
        return cls(
            model,
            optimizer,
            scheduler,
            torch.amp.GradScaler(device.type, enabled=amp),
            torch.Generator().manual_seed(seed + 1),
            torch.from_numpy(data.x_train).to(device),
            torch.from_numpy(data.y_train).to(device),
            torch.from_numpy(data.x_val).to(device),
            torch.from_numpy(data.y_val).to(device),
        )

    def state(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "batch_order": self.batch_order.get_state(),
        }

    def load(self, state: Mapping[str, Any], cfg: Mapping[str, Any]) -> None:
        """Continue from ``state`` with the hyperparameters of ``cfg``.

        The optimizer's and schedule's saved settings (lr, momentum, betas, ...) give way to the
        config's: the same on a plain resume, new ones when PBT restores a checkpoint into a
        perturbed config. Its moment estimates and the schedule's position are kept.
        """
        settings = [
            {k: v for k, v in group.items() if k not in ("params", "lr", "initial_lr")}
            for group in self.optimizer.param_groups
        ]
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        base_lr = float(cfg["lr"])
        self.scheduler.base_lrs = [base_lr] * len(self.optimizer.param_groups)
        for group, setting in zip(self.optimizer.param_groups, settings, strict=True):
            group.update(setting)
            group["initial_lr"] = base_lr
            group["lr"] = base_lr * lr_factor(cfg, self.scheduler.last_epoch)
        if "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        self.batch_order.set_state(state["batch_order"])

    def train_epoch(self, cfg: Mapping[str, Any], task: str) -> float:
        """One pass over the training split in a seeded order; the mean training loss."""
        model, optimizer, scaler, x, y = (
            self.model,
            self.optimizer,
            self.scaler,
            self.x_train,
            self.y_train,
        )
        model.train()
        order = torch.randperm(len(x), generator=self.batch_order).to(x.device)
        total, l1, clip = 0.0, float(cfg["l1"]), float(cfg["grad_clip"])
        batch_size = int(cfg["batch_size"])
        for start in range(0, len(x), batch_size):
            index = order[start : start + batch_size]
            if len(index) < 2 and cfg.get("batch_norm"):
                continue  # batch norm cannot train on a batch of one
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(x.device.type, dtype=torch.float16, enabled=scaler.is_enabled()):
                loss = task_loss(model(x[index]), y[index], task)
            if l1 > 0:
                loss = loss + l1 * sum(p.abs().sum() for p in model.parameters())
            scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
            if clip > 0:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            scaler.step(optimizer)
            scaler.update()
            total += float(loss.detach()) * len(index)
        self.scheduler.step()
        return total / len(x)

    @torch.no_grad()
    def evaluate(self, task: str) -> dict[str, float]:
        """Validation loss, and accuracy for classification."""
        self.model.eval()
        output = self.model(self.x_val)
        metrics = {"val_loss": float(task_loss(output, self.y_val, task))}
        if task == "classification":
            metrics["val_accuracy"] = (output.argmax(dim=1) == self.y_val).float().mean().item()
        return metrics


def _epoch(folds: Sequence[Fold], cfg: Mapping[str, Any], task: str) -> dict[str, Any]:
    """One epoch of every fold; the metrics averaged over folds, with the lr and the time."""
    started = time.perf_counter()
    lr = folds[0].optimizer.param_groups[0]["lr"]
    results = [{"train_loss": fold.train_epoch(cfg, task), **fold.evaluate(task)} for fold in folds]
    metrics: dict[str, Any] = {
        key: sum(r[key] for r in results) / len(results) for key in results[0]
    }
    metrics.update(lr_now=lr, epoch_time_s=time.perf_counter() - started)
    return metrics


def train_family(family: ModelFamily, config: Mapping[str, Any], ctx: TrainContext) -> None:
    """Train ``family``'s model on the sweep's data, reporting ``REPORTED`` each epoch.

    With ``data: {folds: K}`` it trains K models in lockstep, one per fold, and reports the mean
    over folds each epoch, so schedulers compare trials on cross-validated curves. Runs on
    ``ctx.device``, with float16 autocast when ``amp`` is true there (ignored on CPU). Seeded
    runs on CPU are reproducible bit-for-bit, restored ones too: the model init comes from
    ``torch.manual_seed(seed)``, fold i's batch order from ``seed + 1000 * i + 1``, and a
    checkpoint holds every RNG state.
    """
    cfg = family.with_defaults(config)
    data, device, seed = ctx.data, ctx.device, int(cfg["seed"])
    torch.manual_seed(seed)
    splits = data.folds or (data,)
    folds = [
        Fold.build(family, cfg, split, seed + 1000 * i, device) for i, split in enumerate(splits)
    ]
    n_params = sum(p.numel() for p in folds[0].model.parameters())  # size, as an objective
    progress = Progress(int(cfg["epochs"]), int(cfg["patience"]))
    state = ctx.restore()
    if state is not None:
        for fold, fold_state in zip(folds, state.get("folds", [state]), strict=True):
            fold.load(fold_state, cfg)
        torch.set_rng_state(state["torch_rng"])
        progress.best, progress.since_best = state["best"], state["since_best"]
    every = int(cfg["checkpoint_every"])
    for epoch in range(ctx.iteration + 1, progress.epochs + 1):
        metrics = {**_epoch(folds, cfg, data.task), "n_params": n_params}
        fate = progress.update(epoch, metrics)
        if fate == DIVERGED:
            ctx.report(**metrics, diverged=True)
            return
        checkpoint = None
        if checkpoint_due(epoch, every, fate):
            checkpoint = {
                "folds": [fold.state() for fold in folds],
                "torch_rng": torch.get_rng_state(),
                "best": progress.best,
                "since_best": progress.since_best,
            }
        ctx.report(**metrics, checkpoint=checkpoint)  # Tune decides on this epoch before the next
        if fate != RUNNING:
            return
