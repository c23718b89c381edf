"""A space with every kind of parameter (conditional, log, reverse log, pow2, grid, stepped), shared by
the tests of its Optuna and Ray Tune mappings."""

from __future__ import annotations

from caviar.search_spaces import Space

SPACE = Space.from_dict(
    {
        "optimizer": 'choice("sgd", "adam")',
        "momentum": {"sample": "reverse_loguniform(0.9, 0.999)", "when": {"optimizer": "sgd"}},
        "beta1": {"sample": "reverse_loguniform(0.8, 0.99)", "when": {"optimizer": "adam"}},
        "lr": "loguniform(1e-4, 1)",
        "hidden_units": "integer(50, 100)",
        "batch_size": "pow2(16, 128)",
        "layers": "grid(2, 3)",
        "q": "loguniform(0.001, 1, step=0.001)",
        "epochs": 5,
    }
)
