"""Fused trials: K MLPs of one shape trained as one stacked model, each exactly as it would train alone.

Caviar sweeps are mostly many small models, and a small MLP uses a sliver of a CPU core's vector
units or of a GPU, while each trial pays its own process, data loading and kernel launches. Here the
K members' weights are stacked along a leading member dimension and every layer is one batched
matrix multiply (``baddbmm``), the horizontal fusion of HFTA (MLSys 2021) written out by hand.

Exact equivalence with ``mlp.train_mlp`` (same seed, CPU, within float rounding) is the contract:

* each member's weights come from ``build_model`` under ``torch.manual_seed(seed)``, as unfused;
* its dropout masks come from its own generator, which starts where the unfused trial's global
  RNG stands after building the model, and are drawn with the same shapes in the same order;
* its batch order comes from its own ``randperm`` generator seeded ``seed + 1``, so each member
  sees its own batches (the input is gathered per member into ``[K, B, F]``);
* the optimizer step is torch's single-tensor SGD / Adam / AdamW written over stacked tensors,
  with lr, momentum, betas, eps and weight decay as per-member ``[K, 1, 1]`` tensors;
* the lr schedule is ``optim.lr_factor`` per member and epoch, as LambdaLR applies it.

Members that stop (finished, diverged, out of patience, or cut by the sweep's scheduler) leave the
stack, so the bundle gets faster as it thins out. Configs that use knobs this module cannot
reproduce exactly (batch norm, rmsprop/adagrad/adadelta, gradient clipping, AMP, cross-validation
folds) are reported by ``unfusable_reason`` and train unfused.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch.nn import functional as F

from caviar.trainables.data import Dataset
from caviar.trainables.mlp import ACTIVATIONS, build_model, with_defaults
from caviar.trainables.optim import lr_factor

__all__ = ["FUSED_OPTIMIZERS", "FusedMLP", "bundle_key", "unfusable_reason"]

FUSED_OPTIMIZERS = ("sgd", "adam", "adamw")
# Knobs that set the stacked shape or the batch sequence: members of one bundle agree on them.
SHAPE_KNOBS = ("layers", "hidden_units", "activation", "batch_size", "optimizer")


def unfusable_reason(config: Mapping[str, Any], data: Dataset) -> str | None:
    """Why ``config`` cannot train in a bundle, or None when it can (an mlp config)."""
    try:
        cfg = with_defaults(config)
    except ValueError as error:
        return str(error)
    if cfg["optimizer"] not in FUSED_OPTIMIZERS:
        return f"optimizer {cfg['optimizer']!r} is not fused (fused: {', '.join(FUSED_OPTIMIZERS)})"
    if cfg["activation"] not in ACTIVATIONS:
        return f"activation {cfg['activation']!r} is unknown"
    for knob in ("batch_norm", "amp"):
        if cfg[knob]:
            return f"{knob} is not fused"
    if float(cfg["grad_clip"]) > 0:
        return "grad_clip is not fused"
    if data.folds:
        return "cross-validation folds are not fused"
    return None


def bundle_key(config: Mapping[str, Any]) -> tuple[Any, ...]:
    """Configs with equal keys can share a bundle: same stacked shapes, same batch boundaries."""
    cfg = with_defaults(config)
    return tuple(cfg[knob] for knob in SHAPE_KNOBS)


def _per_member(values: Sequence[float], like: torch.Tensor, dims: int) -> torch.Tensor:
    """A ``[K, 1, ...]`` tensor of per-member scalars, rounded once to ``like``'s dtype."""
    tensor = torch.tensor(values, dtype=torch.float64).to(like.device, like.dtype)
    return tensor.view(-1, *([1] * (dims - 1)))


class FusedMLP:
    """K members (mlp configs sharing ``bundle_key``) trained one epoch at a time as one model.

    ``members`` are the indices (into ``configs``) still in the stack; ``train_epoch`` returns
    each of their metrics under the names the unfused trial reports.
    """

    def __init__(
        self,
        configs: Sequence[Mapping[str, Any]],
        data: Dataset,
        device: torch.device | None = None,
    ) -> None:
        if not configs:
            raise ValueError("configs: a bundle needs at least one member, got none")
        self.configs = [with_defaults(c) for c in configs]
        for index, cfg in enumerate(self.configs):
            reason = unfusable_reason(cfg, data)
            if reason is not None:
                raise ValueError(f"configs[{index}]: cannot be fused: {reason}")
        keys = {bundle_key(cfg) for cfg in self.configs}
        if len(keys) > 1:
            raise ValueError(f"configs: members must agree on {SHAPE_KNOBS}, got {sorted(keys)}")
        self.data = data
        self.device = device or torch.device("cpu")
        self.task = data.task
        self.optimizer = str(self.configs[0]["optimizer"])
        self.batch_size = int(self.configs[0]["batch_size"])
        self.activation = ACTIVATIONS[self.configs[0]["activation"]]()
        self.members = list(range(len(configs)))
        self.epoch = 0
        n_outputs = data.n_classes if data.task == "classification" else 1

        weights: list[list[torch.Tensor]] = []
        self.dropout_rngs: list[torch.Generator] = []
        self.batch_rngs: list[torch.Generator] = []
        for cfg in self.configs:
            seed = int(cfg["seed"])
            torch.manual_seed(seed)  # as train_mlp: the model init draws from the global RNG
            model = build_model(cfg, data.n_features, n_outputs)
            weights.append([p.detach() for p in model.parameters()])
            dropout_rng = torch.Generator()
            dropout_rng.set_state(torch.get_rng_state())  # where unfused dropout starts drawing
            self.dropout_rngs.append(dropout_rng)
            self.batch_rngs.append(torch.Generator().manual_seed(seed + 1))
        # Parameters in build_model's order: weight, bias of each Linear, stacked over members.
        self.params = [
            torch.stack([w[i] for w in weights]).to(self.device).requires_grad_(True)
            for i in range(len(weights[0]))
        ]
        self.moments: list[list[torch.Tensor]] = [[] for _ in self.params]
        self.steps = 0
        self.x_train = torch.from_numpy(data.x_train).to(self.device)
        self.y_train = torch.from_numpy(data.y_train).to(self.device)
        self.x_val = torch.from_numpy(data.x_val).to(self.device)
        self.y_val = torch.from_numpy(data.y_val).to(self.device)

    # The model

    def _forward(self, x: torch.Tensor, masks: list[torch.Tensor | None] | None) -> torch.Tensor:
        """``x``: ``[K, B, F]``; masks: per hidden layer a scaled keep-mask ``[K, B, H]`` or None."""
        hidden = len(self.params) // 2 - 1
        for layer in range(hidden + 1):
            weight, bias = self.params[2 * layer], self.params[2 * layer + 1]
            x = torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))
            if layer < hidden:
                x = self.activation(x)
                mask = masks[layer] if masks is not None else None
                if mask is not None:
                    x = x * mask
        return x

    def _dropout_masks(self, batch: int) -> list[torch.Tensor | None]:
        """Per hidden layer, each member's mask drawn from its own generator as nn.Dropout draws it.

        A member without dropout draws nothing (unfused it has no Dropout module) and keeps all.
        """
        rates = [float(self.configs[m]["dropout"]) for m in self.members]
        hidden = len(self.params) // 2 - 1
        if not any(rate > 0 for rate in rates):
            return [None] * hidden
        width = self.params[0].shape[1]
        masks: list[torch.Tensor | None] = []
        for _ in range(hidden):
            layer = torch.ones(len(self.members), batch, width)  # drawn on the CPU generators
            for k, (member, rate) in enumerate(zip(self.members, rates, strict=True)):
                if rate > 0:  # drawn in place: the same numbers as nn.Dropout's fresh tensor
                    layer[k].bernoulli_(1 - rate, generator=self.dropout_rngs[member])
                    layer[k].div_(1 - rate)
            masks.append(layer.to(self.device))
        return masks

    def _losses(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss per member, ``[K]``: cross-entropy or MSE as in the unfused trial."""
        k, b = output.shape[0], output.shape[1]
        if self.task == "classification":
            flat = F.cross_entropy(output.reshape(k * b, -1), target.reshape(-1), reduction="none")
        else:
            flat = F.mse_loss(output.squeeze(-1).reshape(-1), target.reshape(-1), reduction="none")
        return flat.view(k, b).mean(dim=1)

    # Training

    def learning_rates(self) -> list[float]:
        """Each active member's lr this epoch: its base lr times its schedule's factor."""
        return [
            float(self.configs[m]["lr"]) * lr_factor(self.configs[m], self.epoch)
            for m in self.members
        ]

    def train_epoch(self) -> dict[int, dict[str, Any]]:
        """One epoch for every member in the stack; their metrics keyed by member index."""
        if not self.members:
            raise RuntimeError("train_epoch: no members left in the bundle")
        started = time.perf_counter()
        lrs = self.learning_rates()
        n = len(self.x_train)
        orders = torch.stack(
            [torch.randperm(n, generator=self.batch_rngs[m]) for m in self.members]
        )
        orders = orders.to(self.device)
        l1 = _per_member([float(self.configs[m]["l1"]) for m in self.members], self.x_train, 1)
        use_l1 = bool((l1 > 0).any())
        hyper = self._hyperparameters(lrs)
        # Summed on the device (no sync per step); float64 as the unfused trial sums Python floats.
        totals = torch.zeros(len(self.members), dtype=torch.float64, device=self.device)
        for start in range(0, n, self.batch_size):
            index = orders[:, start : start + self.batch_size]
            output = self._forward(self.x_train[index], self._dropout_masks(index.shape[1]))
            losses = self._losses(output, self.y_train[index])
            if use_l1:
                penalty = torch.stack([p.abs().flatten(1).sum(dim=1) for p in self.params]).sum(0)
                losses = losses + l1 * penalty
            for p in self.params:
                p.grad = None
            losses.sum().backward()  # type: ignore[no-untyped-call]
            self._step(hyper)
            totals += losses.detach().double() * index.shape[1]
        self.epoch += 1
        val = self.evaluate()
        elapsed = time.perf_counter() - started
        results: dict[int, dict[str, Any]] = {}
        train_losses = totals.tolist()
        for k, member in enumerate(self.members):
            metrics = {"train_loss": train_losses[k] / n, **val[k], "lr": lrs[k]}
            results[member] = {**metrics, "epoch_time_s": elapsed}
        return results

    def _hyperparameters(self, lrs: list[float]) -> dict[str, torch.Tensor]:
        """Each optimizer hyperparameter of the active members as a ``[K]`` float64 tensor.

        Built once per epoch (the lr changes per epoch, the members only between epochs).
        """
        cfgs = [self.configs[m] for m in self.members]

        def column(values: list[float]) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.float64, device=self.device)

        return {
            "lr": column(lrs),
            "weight_decay": column([float(c["weight_decay"]) for c in cfgs]),
            "momentum": column([float(c["momentum"]) for c in cfgs]),
            "nesterov": torch.tensor(
                [bool(c["nesterov"]) and float(c["momentum"]) > 0 for c in cfgs],
                device=self.device,
            ),
            "beta1": column([float(c["beta1"]) for c in cfgs]),
            "beta2": column([float(c["beta2"]) for c in cfgs]),
            "eps": column([float(c["eps"]) for c in cfgs]),
        }

    @torch.no_grad()
    def _step(self, hyper: Mapping[str, torch.Tensor]) -> None:
        """One optimizer step of every member: torch's single-tensor algorithm over stacks.

        Scalars are computed in float64 and rounded once to the parameters' dtype, as torch's
        optimizers round their Python floats.
        """
        self.steps += 1
        dtype = self.params[0].dtype
        scalars: dict[str, torch.Tensor] = {
            "lr": hyper["lr"],
            "weight_decay": hyper["weight_decay"],
        }
        if self.optimizer == "sgd":
            scalars["momentum"] = hyper["momentum"]
            scalars["neg_lr"] = -hyper["lr"]
        else:
            beta1, beta2 = hyper["beta1"], hyper["beta2"]
            scalars["one_minus_beta1"] = 1 - beta1
            scalars["beta2"] = beta2
            scalars["one_minus_beta2"] = 1 - beta2
            scalars["neg_step_size"] = -hyper["lr"] / (1 - beta1**self.steps)
            scalars["correction"] = (1 - beta2**self.steps) ** 0.5
            scalars["eps"] = hyper["eps"]
            scalars["decay"] = 1 - hyper["lr"] * hyper["weight_decay"]
        rounded = {name: value.to(dtype) for name, value in scalars.items()}
        for i, param in enumerate(self.params):
            grad = param.grad
            assert grad is not None
            shape = (-1,) + (1,) * (param.dim() - 1)
            at = {name: value.view(shape) for name, value in rounded.items()}
            state = self.moments[i]
            # addcmul with a per-member factor rounds as torch's add(..., alpha=scalar) does.
            if self.optimizer == "sgd":
                grad = torch.addcmul(grad, param, at["weight_decay"])
                if not state:
                    state.append(grad.clone())
                else:
                    state[0].mul_(at["momentum"]).add_(grad)
                buf = state[0]
                update = buf
                if bool(hyper["nesterov"].any()):
                    nesterov = hyper["nesterov"].view(shape)
                    update = torch.where(nesterov, torch.addcmul(grad, buf, at["momentum"]), buf)
                param.addcmul_(update, at["neg_lr"])
                continue
            if not state:
                state.extend([torch.zeros_like(param), torch.zeros_like(param)])
            exp_avg, exp_avg_sq = state
            if self.optimizer == "adamw":
                param.mul_(at["decay"])
            else:
                grad = torch.addcmul(grad, param, at["weight_decay"])
            exp_avg.lerp_(grad, at["one_minus_beta1"])
            exp_avg_sq.mul_(at["beta2"]).addcmul_(grad * at["one_minus_beta2"], grad)
            denom = (exp_avg_sq.sqrt() / at["correction"]).add_(at["eps"])
            param.addcdiv_(exp_avg * at["neg_step_size"], denom)

    @torch.no_grad()
    def evaluate(self) -> list[dict[str, float]]:
        """Validation loss (and accuracy) of each member in the stack, in stack order."""
        k = len(self.members)
        x = self.x_val.unsqueeze(0).expand(k, *self.x_val.shape)
        output = self._forward(x, None)
        target = self.y_val.unsqueeze(0).expand(k, *self.y_val.shape)
        losses = self._losses(output, target).tolist()
        if self.task != "classification":
            return [{"val_loss": loss} for loss in losses]
        accuracy = (output.argmax(dim=2) == target).float().mean(dim=1).tolist()
        return [
            {"val_loss": loss, "val_accuracy": acc}
            for loss, acc in zip(losses, accuracy, strict=True)
        ]

    def remove(self, members: Iterable[int]) -> None:
        """Take members out of the stack: later epochs train only the others, and faster."""
        gone = set(members)
        keep = [k for k, m in enumerate(self.members) if m not in gone]
        if len(keep) == len(self.members):
            return
        index = torch.tensor(keep, dtype=torch.long, device=self.device)
        self.params = [p.detach()[index].requires_grad_(True) for p in self.params]
        self.moments = [[t[index] for t in state] for state in self.moments]
        self.members = [self.members[k] for k in keep]

    # Checkpoints

    def state_dict(self) -> dict[str, Any]:
        """Everything a restored bundle needs to continue bit-for-bit: weights, moments, RNGs."""
        return {
            "members": list(self.members),
            "epoch": self.epoch,
            "steps": self.steps,
            "params": [p.detach().cpu().clone() for p in self.params],
            "moments": [[t.cpu().clone() for t in state] for state in self.moments],
            "dropout_rngs": [g.get_state() for g in self.dropout_rngs],
            "batch_rngs": [g.get_state() for g in self.batch_rngs],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from ``state_dict()`` of a bundle built from the same configs."""
        self.members = list(state["members"])
        self.epoch = int(state["epoch"])
        self.steps = int(state["steps"])
        self.params = [p.to(self.device).requires_grad_(True) for p in state["params"]]
        self.moments = [[t.to(self.device) for t in moments] for moments in state["moments"]]
        for generator, saved in zip(self.dropout_rngs, state["dropout_rngs"], strict=True):
            generator.set_state(saved)
        for generator, saved in zip(self.batch_rngs, state["batch_rngs"], strict=True):
            generator.set_state(saved)

    def member_parameters(self, member: int) -> list[torch.Tensor]:
        """One member's weights in ``build_model``'s parameter order (e.g. to load into it)."""
        k = self.members.index(member)
        return [p.detach()[k].clone() for p in self.params]


def param_count(config: Mapping[str, Any], n_features: int, n_outputs: int) -> int:
    """The number of weights of one member: what ``fuse: auto`` sizes bundles by."""
    cfg = with_defaults(config)
    width, total = n_features, 0
    for _ in range(int(cfg["layers"])):
        total += (width + 1) * int(cfg["hidden_units"])
        width = int(cfg["hidden_units"])
    return total + (width + 1) * n_outputs


def is_finite(metrics: Mapping[str, Any]) -> bool:
    """Whether a member's train and val loss are finite (else it diverged, as unfused says)."""
    return math.isfinite(metrics["train_loss"]) and math.isfinite(metrics["val_loss"])
