"""LR range test (Smith 2015, "Cyclical Learning Rates"; the fastai lr_find): pick lr before sweeping.

One model is trained while its lr rises exponentially from ``min_lr`` to ``max_lr``, one step per
batch. The loss is smoothed with a bias-corrected moving average, and the test stops once the smoothed
loss explodes (> ``diverge`` times its best). The suggested lr is a tenth of the lr at the smoothed
minimum (the loss still falls fast there and is far from divergence); the suggested search range is
``loguniform(suggested / 10, lr at the minimum)``. Pure: no Ray, testable in memory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from caviar.search_spaces.distributions import Choice, Constant, Distribution
from caviar.trainables.data import Dataset
from caviar.trainables.loop import n_outputs, task_loss
from caviar.trainables.mlp import DEFAULTS, build_model, build_optimizer, with_defaults


@dataclass(frozen=True)
class LRFindResult:
    """What the range test saw: lr and smoothed loss per step, and the suggestions drawn from them."""

    lrs: list[float]
    losses: list[float]  # smoothed
    raw_losses: list[float]
    suggested_lr: float
    min_loss_lr: float
    steepest_lr: float
    diverged: bool

    @property
    def suggested_range(self) -> tuple[float, float]:
        """A log-uniform search range around the suggestion: (suggested / 10, lr at min loss)."""
        return self.suggested_lr / 10, self.min_loss_lr

    def range_text(self) -> str:
        low, high = self.suggested_range
        return f"loguniform({low:.3g}, {high:.3g})"


def representative_config(space: Mapping[str, Distribution]) -> dict[str, Any]:
    """One config standing for a space: constants as given, the mlp default where the distribution
    allows it, else the distribution's middle (geometric for log scales, first value of a choice)."""
    config: dict[str, Any] = {}
    for name, dist in space.items():
        default = DEFAULTS.get(name)
        if isinstance(dist, Constant):
            config[name] = dist.value
        elif default is not None and dist.contains(default):
            config[name] = default
        elif isinstance(dist, Choice):
            config[name] = dist.values[0]
        else:
            config[name] = dist.from_unit([0.5]).tolist()[0]
    return config


def lr_range_test(
    config: Mapping[str, Any],
    data: Dataset,
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    steps: int = 100,
    smoothing: float = 0.9,
    diverge: float = 4.0,
) -> LRFindResult:
    """Train one mlp of ``config`` on ``data`` with lr rising exponentially per batch; see module."""
    if not 0 < min_lr < max_lr:
        raise ValueError(f"min_lr, max_lr: need 0 < min_lr < max_lr, got {min_lr}, {max_lr}")
    if steps < 10:
        raise ValueError(f"steps: must be >= 10, got {steps}")
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing: must be in [0, 1), got {smoothing}")
    cfg = with_defaults({**config, "lr": min_lr})
    torch.manual_seed(int(cfg["seed"]))
    model = build_model(cfg, data.n_features, n_outputs(data))
    optimizer = build_optimizer(cfg, model.parameters())
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    batch_size = min(int(cfg["batch_size"]), len(x))
    generator = torch.Generator().manual_seed(int(cfg["seed"]) + 1)
    ratio = (max_lr / min_lr) ** (1 / (steps - 1))

    lrs: list[float] = []
    smoothed: list[float] = []
    raw: list[float] = []
    average, best, diverged = 0.0, math.inf, False
    order = torch.randperm(len(x), generator=generator)
    position = 0
    model.train()
    for step in range(steps):
        if position + batch_size > len(x):
            order, position = torch.randperm(len(x), generator=generator), 0
        index = order[position : position + batch_size]
        position += batch_size
        lr = min_lr * ratio**step
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        loss = task_loss(model(x[index]), y[index], data.task)  # the loop's squeeze rule
        value = float(loss.detach())
        if not math.isfinite(value):
            diverged = True
            break
        average = smoothing * average + (1 - smoothing) * value
        current = average / (1 - smoothing ** (step + 1))
        lrs.append(lr)
        raw.append(value)
        smoothed.append(current)
        best = min(best, current)
        if step > 0 and current > diverge * best:
            diverged = True
            break
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    if len(lrs) < 3:
        raise ValueError(
            f"min_lr: the loss diverged within {len(lrs)} steps; try a smaller min_lr than {min_lr}"
        )
    at_min = min(range(len(smoothed)), key=smoothed.__getitem__)
    slopes = [
        (smoothed[i + 1] - smoothed[i - 1]) / math.log(lrs[i + 1] / lrs[i - 1])
        for i in range(1, max(2, at_min))
    ]
    steepest = lrs[1 + min(range(len(slopes)), key=slopes.__getitem__)]
    return LRFindResult(
        lrs=lrs,
        losses=smoothed,
        raw_losses=raw,
        suggested_lr=lrs[at_min] / 10,
        min_loss_lr=lrs[at_min],
        steepest_lr=steepest,
        diverged=diverged,
    )


def save_plot(result: LRFindResult, path: str | Path) -> Path:
    """Loss vs lr on a log x axis, the suggestion and the suggested range marked; a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.plot(result.lrs, result.raw_losses, color="0.8", linewidth=0.8, label="loss")
    axes.plot(result.lrs, result.losses, color="C0", label="smoothed loss")
    low, high = result.suggested_range
    axes.axvspan(low, high, color="C2", alpha=0.12, label=f"range {result.range_text()}")
    axes.axvline(
        result.suggested_lr,
        color="C3",
        linestyle="--",
        label=f"suggested lr {result.suggested_lr:.3g}",
    )
    axes.set_xscale("log")
    axes.set_xlabel("learning rate (log scale)")
    axes.set_ylabel("training loss")
    top = max(result.losses[0], min(result.losses)) * 1.5
    axes.set_ylim(min(result.raw_losses) * 0.9, top)
    axes.set_title("LR range test")
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    target = Path(path)
    figure.savefig(target, format="png", dpi=110)
    plt.close(figure)
    return target
