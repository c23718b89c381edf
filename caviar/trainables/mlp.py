"""The built-in ``mlp`` trainable: a PyTorch multi-layer perceptron whose usual knobs are config keys.

Every key has the usual default, so a space sweeps only what it names. Seeded runs are reproducible
on CPU: the model init, dropout and the batch order all come from the trial's ``seed``, and a
checkpoint carries every RNG state, so a restored trial continues bit-for-bit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from caviar.trainables.context import TrialContext
from caviar.trainables.data import Dataset
from caviar.trainables.dropout import Dropout
from caviar.trainables.optim import LR_SCHEDULES, build_optimizer, lr_factor

__all__ = ["DEFAULTS", "LR_SCHEDULES", "build_model", "build_optimizer", "lr_factor", "train_mlp"]

DEFAULTS: dict[str, Any] = {
    "lr": 1e-3,
    "optimizer": "adam",  # sgd | adam | adamw | rmsprop | adagrad | adadelta
    "momentum": 0.9,  # sgd and rmsprop
    "nesterov": False,
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-8,
    "weight_decay": 0.0,
    "l1": 0.0,
    "layers": 2,  # hidden layers
    "hidden_units": 64,
    "activation": "relu",
    "dropout": 0.0,
    "batch_norm": False,
    "init": "default",  # default | kaiming | xavier | orthogonal
    "batch_size": 64,
    "epochs": 10,
    "lr_schedule": "constant",  # constant | step | exponential | cosine | triangular | one_cycle
    "lr_decay": 0.1,  # gamma of step (per lr_step_epochs) and exponential (per epoch ** 1/10)
    "lr_step_epochs": 10,
    "warmup_epochs": 0,
    "cycle_epochs": 4,  # triangular: epochs per full cycle (up and down)
    "min_lr_ratio": 0.1,  # triangular / one_cycle: lowest lr as a fraction of lr
    "grad_clip": 0.0,  # max gradient norm; 0 disables
    "patience": 0,  # epochs without val improvement before stopping; 0 disables
    "seed": 0,
    "checkpoint_every": 1,
    "amp": False,  # float16 autocast + gradient scaling, on a GPU only
}

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "silu": nn.SiLU,
    "sigmoid": nn.Sigmoid,
}


def with_defaults(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with every missing knob at its default; unknown knobs are errors."""
    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise ValueError(
            f"{sorted(unknown)[0]}: not a knob of the mlp trainable "
            f"(known: {', '.join(sorted(DEFAULTS))})"
        )
    return {**DEFAULTS, **config}


def build_model(config: Mapping[str, Any], n_inputs: int, n_outputs: int) -> nn.Sequential:
    """Linear -> [BatchNorm] -> activation -> [Dropout], ``layers`` times, then a linear head."""
    activation = ACTIVATIONS.get(config["activation"])
    if activation is None:
        raise ValueError(
            f"activation: unknown {config['activation']!r} (known: {sorted(ACTIVATIONS)})"
        )
    modules: list[nn.Module] = []
    width = n_inputs
    for _ in range(int(config["layers"])):
        modules.append(nn.Linear(width, int(config["hidden_units"])))
        width = int(config["hidden_units"])
        if config["batch_norm"]:
            modules.append(nn.BatchNorm1d(width))
        modules.append(activation())
        if config["dropout"] > 0:
            modules.append(Dropout(float(config["dropout"])))
    modules.append(nn.Linear(width, n_outputs))
    model = nn.Sequential(*modules)
    _initialize(model, str(config["init"]))
    return model


def _initialize(model: nn.Module, scheme: str) -> None:
    inits = {
        "kaiming": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
        "xavier": nn.init.xavier_uniform_,
        "orthogonal": nn.init.orthogonal_,
    }
    if scheme == "default":
        return
    if scheme not in inits:
        raise ValueError(f"init: unknown {scheme!r} (known: default, {', '.join(inits)})")
    for module in model.modules():
        if isinstance(module, nn.Linear):
            inits[scheme](module.weight)
            nn.init.zeros_(module.bias)


@dataclass
class _Fold:
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


def _make_fold(
    cfg: Mapping[str, Any], data: Dataset, n_outputs: int, seed: int, device: torch.device
) -> _Fold:
    model = build_model(cfg, data.n_features, n_outputs).to(device)
    optimizer = build_optimizer(cfg, model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: lr_factor(cfg, e))
    amp = bool(cfg["amp"]) and device.type == "cuda"
    return _Fold(
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


def train_mlp(config: Mapping[str, Any], ctx: TrialContext) -> None:
    """Train an MLP on the sweep's data, reporting train/val loss and accuracy each epoch.

    With ``data: {folds: K}`` it trains K models in lockstep, one per fold, and reports the mean
    over folds each epoch (``val_loss`` etc.), so schedulers compare trials on cross-validated
    curves. Runs on the trial's GPU when Ray gave it one (``ctx.device``), with float16 autocast
    when ``amp`` is true; ``amp`` is ignored on CPU.

    Determinism: on CPU a seeded run is bit-for-bit reproducible, and so is a restored one. On a GPU
    the model init, dropout masks and batch order are still seeded, but cuBLAS/cuDNN may pick
    nondeterministic kernels (atomic adds in reductions and backward passes), and AMP's loss scaling
    depends on those results, so curves agree only to rounding and can drift apart over epochs.
    """
    cfg = with_defaults(config)
    data = ctx.data
    device = ctx.device
    seed = int(cfg["seed"])
    torch.manual_seed(seed)
    n_outputs = data.n_classes if data.task == "classification" else 1
    splits = data.folds or (data,)
    folds = [
        _make_fold(cfg, split, n_outputs, seed + 1000 * i, device) for i, split in enumerate(splits)
    ]
    best, since_best = math.inf, 0
    n_params = sum(p.numel() for p in folds[0].model.parameters())  # size, as an objective

    state = ctx.restore()
    if state is not None:
        for fold, fold_state in zip(folds, state.get("folds", [state]), strict=True):
            fold.load(fold_state, cfg)
        torch.set_rng_state(state["torch_rng"])
        best, since_best = state["best"], state["since_best"]

    loss_fn: nn.Module = nn.CrossEntropyLoss() if data.task == "classification" else nn.MSELoss()
    batch_size = int(cfg["batch_size"])

    for epoch in range(ctx.iteration, int(cfg["epochs"])):
        started = time.perf_counter()
        lr = folds[0].optimizer.param_groups[0]["lr"]
        results = []
        for fold in folds:
            train_loss = _train_epoch(fold, loss_fn, batch_size, cfg)
            fold.scheduler.step()
            metrics = _evaluate(fold.model, loss_fn, fold.x_val, fold.y_val, data)
            results.append({"train_loss": train_loss, **metrics})
        metrics = {key: sum(r[key] for r in results) / len(results) for key in results[0]}
        metrics.update(lr=lr, epoch_time_s=time.perf_counter() - started, n_params=n_params)
        if not (math.isfinite(metrics["train_loss"]) and math.isfinite(metrics["val_loss"])):
            ctx.report(**metrics, diverged=True)
            return
        ctx.report(**metrics)
        if metrics["val_loss"] < best:
            best, since_best = metrics["val_loss"], 0
        else:
            since_best += 1
        last = epoch + 1 == int(cfg["epochs"])
        every = max(1, int(cfg["checkpoint_every"]))
        if last or (epoch + 1) % every == 0:
            ctx.checkpoint(
                {
                    "folds": [fold.state() for fold in folds],
                    "torch_rng": torch.get_rng_state(),
                    "best": best,
                    "since_best": since_best,
                }
            )
        if int(cfg["patience"]) and since_best >= int(cfg["patience"]):
            return


def _train_epoch(fold: _Fold, loss_fn: nn.Module, batch_size: int, cfg: Mapping[str, Any]) -> float:
    model, optimizer, scaler, x, y = (
        fold.model,
        fold.optimizer,
        fold.scaler,
        fold.x_train,
        fold.y_train,
    )
    model.train()
    order = torch.randperm(len(x), generator=fold.batch_order).to(x.device)
    total, l1, clip = 0.0, float(cfg["l1"]), float(cfg["grad_clip"])
    device_type = x.device.type
    for start in range(0, len(x), batch_size):
        index = order[start : start + batch_size]
        if len(index) < 2 and cfg["batch_norm"]:
            continue  # batch norm cannot train on a batch of one
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type, dtype=torch.float16, enabled=scaler.is_enabled()):
            output = model(x[index])
            loss = loss_fn(
                output.squeeze(-1)
                if output.shape[-1] == 1 and y.dtype.is_floating_point
                else output,
                y[index],
            )
        if l1 > 0:
            loss = loss + l1 * sum(p.abs().sum() for p in model.parameters())
        scaler.scale(loss).backward()
        if clip > 0:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        scaler.step(optimizer)
        scaler.update()
        total += float(loss.detach()) * len(index)
    return total / len(x)


@torch.no_grad()
def _evaluate(
    model: nn.Module, loss_fn: nn.Module, x: torch.Tensor, y: torch.Tensor, data: Dataset
) -> dict[str, Any]:
    model.eval()
    output = model(x)
    if data.task == "classification":
        accuracy = (output.argmax(dim=1) == y).float().mean().item()
        return {"val_loss": float(loss_fn(output, y)), "val_accuracy": accuracy}
    return {"val_loss": float(loss_fn(output.squeeze(-1), y))}
