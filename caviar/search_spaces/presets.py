"""Ready-made spaces that encode the usual tuning priorities, tier by tier.

Tier 1 is what matters most, tier 4 what is rarely worth tuning (the order of Andrew Ng's course):

1. ``lr``: loguniform(1e-4, 1).
2. ``momentum``: reverse_loguniform(0.9, 0.999) (only for sgd/rmsprop when an optimizer is
   searched), ``hidden_units``: integer(50, 100), ``batch_size``: powers of two 16..128.
3. ``layers``: integer(2, 4); ``lr_schedule``: constant/step/exponential/cosine, with ``lr_decay``
   loguniform(0.01, 0.5) when the schedule decays by a factor (step, exponential).
4. Adam's ``beta1`` reverse_loguniform(0.8, 0.99), ``beta2`` reverse_loguniform(0.99, 0.9999),
   ``eps`` loguniform(1e-9, 1e-7) (only for adam/adamw when an optimizer is searched). Below tier 4
   they are not in the space and the trainable uses 0.9, 0.999 and 1e-8.

Every name is a knob of the built-in ``mlp`` trainable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from caviar.search_spaces.distributions import (
    Distribution,
    choice,
    constant,
    integer,
    loguniform,
    pow2,
    reverse_loguniform,
)
from caviar.search_spaces.space import Condition, Param, Space

MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")
ADAM_OPTIMIZERS = ("adam", "adamw")
MAX_TIER = 4


def _mlp(tiers: int, optimizers: Sequence[str] | None) -> Space:
    params: dict[str, Param] = {}
    if optimizers:
        params["optimizer"] = Param(
            choice(*optimizers) if len(optimizers) > 1 else constant(optimizers[0])
        )

    def add(name: str, dist: Distribution, only_for: Sequence[str] | None = None) -> None:
        if only_for is None or not optimizers:
            params[name] = Param(dist)
            return
        allowed = tuple(o for o in optimizers if o in only_for)
        if allowed:  # a knob no searched optimizer uses is left out
            params[name] = Param(dist, (Condition("optimizer", allowed),))

    add("lr", loguniform(1e-4, 1))
    if tiers >= 2:
        add("momentum", reverse_loguniform(0.9, 0.999), MOMENTUM_OPTIMIZERS)
        add("hidden_units", integer(50, 100))
        add("batch_size", pow2(16, 128))
    if tiers >= 3:
        add("layers", integer(2, 4))
        add("lr_schedule", choice("constant", "step", "exponential", "cosine"))
        params["lr_decay"] = Param(
            loguniform(0.01, 0.5), (Condition("lr_schedule", ("step", "exponential")),)
        )
    if tiers >= 4:
        add("beta1", reverse_loguniform(0.8, 0.99), ADAM_OPTIMIZERS)
        add("beta2", reverse_loguniform(0.99, 0.9999), ADAM_OPTIMIZERS)
        add("eps", loguniform(1e-9, 1e-7), ADAM_OPTIMIZERS)
    return Space(params)


PRESETS: dict[str, Callable[[int, Sequence[str] | None], Space]] = {"mlp": _mlp}


def preset(name: str, tiers: int = 2, optimizers: Sequence[str] | None = None) -> Space:
    """The preset space ``name`` with its hyperparameters of priority ``1..tiers``.

    ``optimizers``: optimizers to search (``("sgd", "adam")``); the momentum and Adam knobs are then
    conditional on the optimizers that use them. ``None``: the optimizer is not in the space (the
    trainable's default, adam, unless the spec sets one) and every knob of the tiers is searched.
    """
    build = PRESETS.get(name)
    if build is None:
        raise ValueError(f"preset: unknown name {name!r} (known: {', '.join(sorted(PRESETS))})")
    if isinstance(tiers, bool) or not isinstance(tiers, int) or not 1 <= tiers <= MAX_TIER:
        raise ValueError(f"preset: tiers must be an integer in 1..{MAX_TIER}, got {tiers!r}")
    if optimizers is not None:
        if isinstance(optimizers, str) or not all(isinstance(o, str) for o in optimizers):
            raise ValueError(f"preset: optimizers must be a list of names, got {optimizers!r}")
        optimizers = list(optimizers)
    return build(tiers, optimizers)
