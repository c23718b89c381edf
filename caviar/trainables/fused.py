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
* the optimizer step is torch's single-tensor SGD / Adam / AdamW written over one ``[K, P]``
  buffer that holds every member's weights (the layers are views into it), with lr, momentum,
  betas, eps and weight decay as per-member ``[K, 1]`` tensors;
* the lr schedule is ``optim.lr_factor`` per member and epoch, as LambdaLR applies it.

Members that stop (finished, diverged, out of patience, or cut by the sweep's scheduler) leave the
stack, so the bundle gets faster as it thins out. Configs that use knobs this module cannot
reproduce exactly (batch norm, rmsprop/adagrad/adadelta, gradient clipping, AMP, cross-validation
folds) are reported by ``unfusable_reason`` and train unfused.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch

from caviar.trainables.data import Dataset
from caviar.trainables.dropout import keep_mask
from caviar.trainables.knobs import MLP_KNOBS
from caviar.trainables.loop import n_outputs, task_loss
from caviar.trainables.mlp import ACTIVATIONS, build_model, with_defaults
from caviar.trainables.optim import lr_factor

__all__ = ["FUSED_OPTIMIZERS", "FusedMLP", "bundle_key", "param_count", "unfusable_reason"]

# What the bundle reproduces exactly is declared with each knob (knobs.Knob.fused).
FUSED_OPTIMIZERS = MLP_KNOBS["optimizer"].fused
# Knobs that set the stacked shape or the batch sequence: members of one bundle agree on them.
SHAPE_KNOBS = ("layers", "hidden_units", "activation", "batch_size", "optimizer")


def unfusable_reason(config: Mapping[str, Any], data: Dataset) -> str | None:
    """Why ``config`` cannot train in a bundle, or None when it can (an mlp config)."""
    try:
        cfg = with_defaults(config)
    except ValueError as error:
        return str(error)
    if cfg["activation"] not in ACTIVATIONS:
        return f"activation {cfg['activation']!r} is unknown"
    for name, knob in MLP_KNOBS.items():
        reason = knob.unfused(name, cfg[name])
        if reason is not None:
            return reason
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
        outputs = n_outputs(data)

        weights: list[list[torch.Tensor]] = []
        self.dropout_rngs: list[torch.Generator] = []
        self.batch_rngs: list[torch.Generator] = []
        for cfg in self.configs:
            seed = int(cfg["seed"])
            torch.manual_seed(seed)  # as train_mlp: the model init draws from the global RNG
            model = build_model(cfg, data.n_features, outputs)
            weights.append([p.detach() for p in model.parameters()])
            dropout_rng = torch.Generator()
            dropout_rng.set_state(torch.get_rng_state())  # where unfused dropout starts drawing
            self.dropout_rngs.append(dropout_rng)
            self.batch_rngs.append(torch.Generator().manual_seed(seed + 1))
        # Parameters in build_model's order (weight, bias of each Linear), stacked over members and
        # stored as views into one [K, P] buffer, so the optimizer step is a few ops over all of them.
        self.shapes = [tuple(w.shape) for w in weights[0]]
        self.n_params = sum(w.numel() for w in weights[0])  # reported as n_params, as train_mlp
        self._store(torch.stack([torch.cat([w.flatten() for w in ws]) for ws in weights]))
        self.moments: list[torch.Tensor] = []  # [K, P] each: SGD's momentum, or Adam's two
        self.steps = 0
        self.x_train = torch.from_numpy(data.x_train).to(self.device)
        self.y_train = torch.from_numpy(data.y_train).to(self.device)
        self.x_val = torch.from_numpy(data.x_val).to(self.device)
        self.y_val = torch.from_numpy(data.y_val).to(self.device)

    def _store(self, flat: torch.Tensor) -> None:
        """Adopt ``flat`` ``[K, P]`` as the weights; ``params`` are its per-layer views.

        Their gradients are views into one ``[K, P]`` buffer too: backward accumulates into it.
        """
        self.flat = flat.to(self.device).contiguous()
        self.flat_grad = torch.zeros_like(self.flat)
        self.scratch = [torch.empty_like(self.flat) for _ in range(2)]
        self.params = []
        offset, k = 0, self.flat.shape[0]
        for shape in self.shapes:
            size = math.prod(shape)
            param = self.flat[:, offset : offset + size].view(k, *shape).requires_grad_(True)
            param.grad = self.flat_grad[:, offset : offset + size].view(k, *shape)
            self.params.append(param)
            offset += size

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

    def _keep_rates(self) -> torch.Tensor | None:
        """The active members' keep rates (1 - dropout) as ``[K, 1, 1]``, or None: no dropout."""
        rates = [float(self.configs[m]["dropout"]) for m in self.members]
        if not any(rate > 0 for rate in rates):
            return None
        keep = torch.tensor([1 - rate for rate in rates], dtype=torch.float64)
        return keep.to(torch.get_default_dtype()).view(-1, 1, 1)

    def _dropout_masks(self, batch: int, keep: torch.Tensor | None) -> list[torch.Tensor | None]:
        """Per hidden layer, each member's mask from its own generator, as its trial's Dropout draws it.

        A member without dropout draws nothing (unfused it has no Dropout module) and keeps all.
        """
        hidden = len(self.params) // 2 - 1
        if keep is None:
            return [None] * hidden
        width = self.params[0].shape[1]
        rates = [float(self.configs[m]["dropout"]) for m in self.members]
        masks: list[torch.Tensor | None] = []
        for _ in range(hidden):
            noise = torch.empty(len(self.members), batch, width)  # drawn on the CPU generators
            for k, (member, rate) in enumerate(zip(self.members, rates, strict=True)):
                if rate > 0:  # the uniforms the trial's Dropout draws, from the member's generator
                    torch.rand(batch, width, generator=self.dropout_rngs[member], out=noise[k])
                else:
                    noise[k].fill_(0)  # below keep = 1: kept
            masks.append(keep_mask(noise, keep).to(self.device))
        return masks

    def _losses(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss per member, ``[K]``: the unfused trial's ``task_loss`` over ``[K * B]`` rows."""
        k, b = output.shape[0], output.shape[1]
        flat = task_loss(output.reshape(k * b, -1), target.reshape(-1), self.task, "none")
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
        keep = self._keep_rates()
        # Summed on the device (no sync per step); float64 as the unfused trial sums Python floats.
        totals = torch.zeros(len(self.members), dtype=torch.float64, device=self.device)
        with warnings.catch_warnings():
            # The [K, P] buffer leaves gaps between a member's layers: torch notes that grads of
            # such views miss its fast layout, which costs nothing here.
            warnings.filterwarnings("ignore", message="grad and param do not obey")
            for start in range(0, n, self.batch_size):
                index = orders[:, start : start + self.batch_size]
                masks = self._dropout_masks(index.shape[1], keep)
                output = self._forward(self.x_train[index], masks)
                losses = self._losses(output, self.y_train[index])
                if use_l1:
                    penalty = torch.stack([p.abs().flatten(1).sum(dim=1) for p in self.params])
                    losses = losses + l1 * penalty.sum(0)
                self.flat_grad.zero_()
                losses.sum().backward()  # type: ignore[no-untyped-call]
                self._step(hyper)
                totals += losses.detach().double() * index.shape[1]
        self.epoch += 1
        val = self.evaluate()
        elapsed = time.perf_counter() - started
        results: dict[int, dict[str, Any]] = {}
        train_losses = totals.tolist()
        for k, member in enumerate(self.members):
            metrics = {"train_loss": train_losses[k] / n, **val[k], "lr_now": lrs[k]}
            results[member] = {**metrics, "epoch_time_s": elapsed, "n_params": self.n_params}
        return results

    def _hyperparameters(self, lrs: list[float]) -> dict[str, torch.Tensor]:
        """The active members' optimizer hyperparameters, built once per epoch.

        Computed in float64 and rounded once to the parameters' dtype, as torch's optimizers round
        their Python floats; ``[K, 1]`` to broadcast over the ``[K, P]`` buffer. The float64
        ``lr``, ``beta1`` and ``beta2`` (``[K]``) stay for Adam's per-step bias corrections.
        """
        cfgs = [self.configs[m] for m in self.members]

        def column(values: list[float]) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.float64, device=self.device)

        lr, weight_decay = column(lrs), column([float(c["weight_decay"]) for c in cfgs])
        beta1, beta2 = (
            column([float(c["beta1"]) for c in cfgs]),
            column([float(c["beta2"]) for c in cfgs]),
        )
        momentum = column([float(c["momentum"]) for c in cfgs])
        scalars = {
            "weight_decay": weight_decay,
            "momentum": momentum,
            "neg_lr": -lr,
            "one_minus_beta1": 1 - beta1,
            "beta2": beta2,
            "one_minus_beta2": 1 - beta2,
            "eps": column([float(c["eps"]) for c in cfgs]),
            "decay": 1 - lr * weight_decay,
        }
        dtype = self.flat.dtype
        hyper = {name: value.to(dtype).view(-1, 1) for name, value in scalars.items()}
        nesterov = [bool(c["nesterov"]) and float(c["momentum"]) > 0 for c in cfgs]
        if any(nesterov):
            hyper["nesterov"] = torch.tensor(nesterov, device=self.device).view(-1, 1)
        return {**hyper, "lr64": lr, "beta1_64": beta1, "beta2_64": beta2}

    @torch.no_grad()
    def _step(self, at: Mapping[str, torch.Tensor]) -> None:
        """One optimizer step of every member: torch's single-tensor algorithm over ``[K, P]``.

        In place, into two scratch buffers: the buffer is a few hundred KB, and fresh tensors of
        that size cost page faults on every step.
        """
        self.steps += 1
        param, grad, state, scratch = self.flat, self.flat_grad, self.moments, self.scratch
        # addcmul with a per-member factor rounds as torch's add(..., alpha=scalar) does.
        if self.optimizer == "sgd":
            grad.addcmul_(param, at["weight_decay"])
            if not state:
                state.append(grad.clone())
            else:
                state[0].mul_(at["momentum"]).add_(grad)
            update = state[0]
            if "nesterov" in at:
                nesterov = torch.addcmul(grad, update, at["momentum"], out=scratch[0])
                update = torch.where(at["nesterov"], nesterov, update, out=scratch[1])
            param.addcmul_(update, at["neg_lr"])
            return
        if not state:
            state.extend([torch.zeros_like(param), torch.zeros_like(param)])
        exp_avg, exp_avg_sq = state
        dtype = param.dtype
        neg_step_size = (-at["lr64"] / (1 - at["beta1_64"] ** self.steps)).to(dtype).view(-1, 1)
        correction = ((1 - at["beta2_64"] ** self.steps) ** 0.5).to(dtype).view(-1, 1)
        if self.optimizer == "adamw":
            param.mul_(at["decay"])
        else:
            grad.addcmul_(param, at["weight_decay"])
        exp_avg.lerp_(grad, at["one_minus_beta1"])
        exp_avg_sq.mul_(at["beta2"]).addcmul_(
            torch.mul(grad, at["one_minus_beta2"], out=scratch[0]), grad
        )
        denom = torch.sqrt(exp_avg_sq, out=scratch[0]).div_(correction).add_(at["eps"])
        param.addcdiv_(torch.mul(exp_avg, neg_step_size, out=scratch[1]), denom)

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
        self._store(self.flat[index])
        self.moments = [t[index] for t in self.moments]
        self.members = [self.members[k] for k in keep]

    # Checkpoints

    def state_dict(self) -> dict[str, Any]:
        """Everything a restored bundle needs to continue bit-for-bit: weights, moments, RNGs."""
        return {
            "members": list(self.members),
            "epoch": self.epoch,
            "steps": self.steps,
            "params": [p.detach().cpu().clone() for p in self.params],
            "moments": [t.cpu().clone() for t in self.moments],
            "dropout_rngs": [g.get_state() for g in self.dropout_rngs],
            "batch_rngs": [g.get_state() for g in self.batch_rngs],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from ``state_dict()`` of a bundle built from the same configs."""
        self.members = list(state["members"])
        self.epoch = int(state["epoch"])
        self.steps = int(state["steps"])
        self._store(torch.cat([p.flatten(1) for p in state["params"]], dim=1))
        self.moments = [t.to(self.device) for t in state["moments"]]
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
