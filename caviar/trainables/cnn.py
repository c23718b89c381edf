"""The built-in ``cnn`` trainable: a PyTorch conv net for sequences and images, trained by the
shared epoch loop (``loop.train_family``) exactly as the mlp is.

Each row of the data is reshaped to ``data.shape`` (``[1, 40]`` for MNIST-1D: 1-d convolutions;
``[1, 8, 8]`` for digits: 2-d; a packaged set brings its own, others default to ``[1, n_features]``).
The net is ``conv_layers`` blocks of conv -> [batch norm] -> activation (+ the block's input when
``residual``) -> [pool] -> [dropout], then a head: flatten (or global average, ``head: avg``),
an optional hidden layer (``hidden_units``), and a linear layer to the outputs. Its knobs are
declared in ``cnn_knobs`` (no torch there, so the spec checks them cheaply).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from caviar.trainables.cnn_knobs import CNN_KNOBS
from caviar.trainables.data import Dataset
from caviar.trainables.dropout import Dropout
from caviar.trainables.loop import ModelFamily, n_outputs, train_family
from caviar.trainables.mlp import ACTIVATIONS

if TYPE_CHECKING:
    from caviar.trainables.protocol import TrainContext

__all__ = ["CNN", "ConvNet", "build_cnn", "input_shape", "train_cnn"]


def input_shape(data: Dataset) -> tuple[int, ...]:
    """One row's shape as the convolutions take it: [channels, length] or [channels, h, w]."""
    shape = data.shape or (data.n_features,)
    return (1, *shape) if len(shape) == 1 else tuple(shape)


class _Block(nn.Module):
    """conv -> [batch norm] -> activation, with the block's input added before the activation
    when residual (through a 1x1 conv where the channels or the stride change)."""

    def __init__(
        self, conv: type[nn.Conv1d | nn.Conv2d], c_in: int, c_out: int, cfg: Mapping[str, Any]
    ) -> None:
        super().__init__()
        kernel, stride = int(cfg["kernel"]), int(cfg["stride"])
        self.conv = conv(c_in, c_out, kernel, stride=stride, padding=kernel // 2)
        norm = nn.BatchNorm1d if conv is nn.Conv1d else nn.BatchNorm2d
        self.norm: nn.Module = norm(c_out) if cfg["batch_norm"] else nn.Identity()
        self.activation = ACTIVATIONS[str(cfg["activation"])]()
        self.skip: nn.Module | None = None
        if cfg["residual"]:
            same = c_in == c_out and stride == 1 and kernel % 2 == 1
            self.skip = nn.Identity() if same else conv(c_in, c_out, 1, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.norm(self.conv(x))
        if self.skip is not None:
            out = out + _padded(self.skip(x), out.shape[2:])
        return self.activation(out)


def _padded(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """``x`` zero-padded at the end to the spatial ``size``: an even kernel's padded conv is one
    longer than its input, and so than the 1x1 skip."""
    pad = [
        p for n, m in zip(reversed(size), reversed(x.shape[2:]), strict=True) for p in (0, n - m)
    ]
    return nn.functional.pad(x, pad) if any(pad) else x


class ConvNet(nn.Module):
    """Flat rows in, outputs out: the rows are reshaped to ``shape`` first (see the module)."""

    def __init__(self, cfg: Mapping[str, Any], shape: tuple[int, ...], outputs: int) -> None:
        super().__init__()
        if str(cfg["activation"]) not in ACTIVATIONS:
            raise ValueError(
                f"activation: unknown {cfg['activation']!r} (known: {sorted(ACTIVATIONS)})"
            )
        self.shape = shape
        two_d = len(shape) == 3
        conv = nn.Conv2d if two_d else nn.Conv1d
        layers: list[nn.Module] = []
        channels, size = shape[0], list(shape[1:])
        for _ in range(int(cfg["conv_layers"])):
            layers.append(_Block(conv, channels, int(cfg["channels"]), cfg))
            channels = int(cfg["channels"])
            size = [_conv_size(n, int(cfg["kernel"]), int(cfg["stride"])) for n in size]
            if cfg["pool"] != "none" and max(size) >= 2:
                window = [2 if n >= 2 else 1 for n in size]
                layers.append(_pool(str(cfg["pool"]), window))
                size = [n // w for n, w in zip(size, window, strict=True)]
            if float(cfg["dropout"]) > 0:
                layers.append(Dropout(float(cfg["dropout"])))
        self.features = nn.Sequential(*layers)
        head: list[nn.Module] = []
        if cfg["head"] == "avg":
            head.append(nn.AdaptiveAvgPool2d(1) if two_d else nn.AdaptiveAvgPool1d(1))
            width = channels
        else:
            width = channels * _product(size)
        head.append(nn.Flatten())
        if int(cfg["hidden_units"]) > 0:
            head += [
                nn.Linear(width, int(cfg["hidden_units"])),
                ACTIVATIONS[str(cfg["activation"])](),
            ]
            width = int(cfg["hidden_units"])
            if float(cfg["dropout"]) > 0:
                head.append(Dropout(float(cfg["dropout"])))
        head.append(nn.Linear(width, outputs))
        self.head = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.reshape(len(x), *self.shape)))


def _pool(kind: str, window: list[int]) -> nn.Module:
    """Max or average pooling over ``window`` (one side per spatial dimension)."""
    if len(window) == 2:
        pair = (window[0], window[1])
        return nn.MaxPool2d(pair) if kind == "max" else nn.AvgPool2d(pair)
    return nn.MaxPool1d(window[0]) if kind == "max" else nn.AvgPool1d(window[0])


def _conv_size(n: int, kernel: int, stride: int) -> int:
    """The length of a padded (``kernel // 2``) convolution's output along one dimension."""
    return (n + 2 * (kernel // 2) - kernel) // stride + 1


def _product(values: Sequence[int]) -> int:
    total = 1
    for value in values:
        total *= value
    return total


def build_cnn(config: Mapping[str, Any], data: Dataset) -> nn.Module:
    """The conv net of ``config`` for ``data``'s row shape and task."""
    return ConvNet(config, input_shape(data), n_outputs(data))


CNN = ModelFamily("cnn", CNN_KNOBS, build_cnn)


def train_cnn(config: Mapping[str, Any], ctx: TrainContext) -> None:
    """Train a conv net on the sweep's data with the shared loop (``loop.train_family``): the
    mlp's optimizers, schedules, seeds, folds, checkpoints, divergence and patience rules."""
    train_family(CNN, config, ctx)
