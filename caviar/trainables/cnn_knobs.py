"""The knobs of the built-in cnn: the shared training knobs plus its architecture's.

No torch import (as ``knobs.py``), so that the spec can check a cnn sweep's space cheaply.
"""

from __future__ import annotations

from caviar.trainables.knobs import ACTIVATION_NAMES, TRAINING_KNOBS, Knob

POOLS = ("none", "max", "avg")
HEADS = ("flatten", "avg")

CNN_KNOBS: dict[str, Knob] = {
    **TRAINING_KNOBS,
    "conv_layers": Knob(3, int, 1),
    "channels": Knob(32, int, 1),  # of every conv layer
    "kernel": Knob(5, int, 1),  # padded by kernel // 2
    "stride": Knob(1, int, 1),  # of every conv layer
    "pool": Knob("max", str, choices=POOLS),  # window 2 after each block, while a side is >= 2
    "residual": Knob(False, bool),  # add each block's input (1x1 conv where the shape changes)
    "batch_norm": Knob(False, bool),
    "dropout": Knob(0.0, float, 0, 1, high_open=True),  # after each block and the hidden layer
    "activation": Knob("relu", str, choices=ACTIVATION_NAMES),
    "head": Knob("flatten", str, choices=HEADS),  # avg: global average pooling first
    "hidden_units": Knob(0, int, 0),  # a hidden layer in the head; 0: none
}
