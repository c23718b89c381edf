"""The built-in ``mlp`` trainable: a PyTorch multi-layer perceptron whose usual knobs are config keys.

Every key has the usual default (``knobs.MLP_KNOBS``), so a space sweeps only what it names. The
mlp gives the shared epoch loop (``loop.train_family``) its model; seeded runs are reproducible on
CPU, restored ones too (see ``train_family``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from torch import nn

from caviar.trainables.data import Dataset
from caviar.trainables.dropout import Dropout
from caviar.trainables.knobs import MLP_KNOBS, defaults
from caviar.trainables.loop import ModelFamily, n_outputs, train_family
from caviar.trainables.optim import LR_SCHEDULES, build_optimizer, lr_factor

if TYPE_CHECKING:
    from caviar.trainables.protocol import TrainContext

__all__ = [
    "DEFAULTS",
    "LR_SCHEDULES",
    "MLP",
    "build_model",
    "build_optimizer",
    "lr_factor",
    "train_mlp",
    "with_defaults",
]

DEFAULTS: dict[str, Any] = defaults(MLP_KNOBS)

# One class per name of knobs.ACTIVATION_NAMES (the declaration; a test keeps them equal).
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
    inits: dict[str, Any] = {
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


def _build(config: Mapping[str, Any], data: Dataset) -> nn.Module:
    return build_model(config, data.n_features, n_outputs(data))


MLP = ModelFamily("mlp", MLP_KNOBS, _build)


def with_defaults(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with every missing knob at its default; unknown knobs are errors."""
    return MLP.with_defaults(config)


def train_mlp(config: Mapping[str, Any], ctx: TrainContext) -> None:
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
    train_family(MLP, config, ctx)
