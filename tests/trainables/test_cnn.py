"""The built-in cnn: its architecture knobs, its training through the shared loop, its spec checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch

from caviar.errors import SpecError
from caviar.search_spaces import Space
from caviar.trainables.cnn import CNN, ConvNet, train_cnn
from caviar.trainables.data import DataSpec, load_dataset
from caviar.trainables.protocol import check_builtin
from tests.trainables.recording import RecordingContext


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """As a trial with one CPU runs (and cheaper on a shared machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _config(**knobs: Any) -> dict[str, Any]:
    return CNN.with_defaults(knobs)


SHAPES: dict[str, tuple[tuple[int, ...], dict[str, Any]]] = {
    "sequence": ((1, 40), {}),
    "sequence of channels": ((3, 10), {"kernel": 3}),
    "flat sequence": ((12,), {"kernel": 4, "residual": True}),  # an even kernel, with the skip
    "image": ((1, 8, 8), {"kernel": 3, "batch_norm": True}),
    "image of channels": ((2, 4, 6), {"kernel": 3, "pool": "avg", "head": "avg"}),
    "strided": ((1, 40), {"stride": 2, "pool": "none", "residual": True}),
    "deeper than the image": ((1, 8, 8), {"conv_layers": 6, "kernel": 3}),  # pooling stops at 1
    "wide head": ((1, 8, 8), {"hidden_units": 16, "dropout": 0.2, "channels": 4}),
    "residual image": ((1, 8, 8), {"kernel": 3, "residual": True, "stride": 2}),
}


@pytest.mark.parametrize("case", SHAPES)
def test_every_architecture_maps_flat_rows_to_outputs(case: str) -> None:
    shape, knobs = SHAPES[case]
    net = ConvNet(_config(**knobs), shape if len(shape) > 1 else (1, *shape), 5)
    rows = torch.randn(7, int(torch.tensor(shape).prod()))
    net.train()
    assert net(rows).shape == (7, 5)
    net.eval()
    assert torch.isfinite(net(rows)).all()


def test_the_conv_kind_follows_the_shape() -> None:
    one = ConvNet(_config(), (1, 40), 3)
    two = ConvNet(_config(), (1, 8, 8), 3)
    assert any(isinstance(m, torch.nn.Conv1d) for m in one.modules())
    assert any(isinstance(m, torch.nn.Conv2d) for m in two.modules())
    assert not any(isinstance(m, torch.nn.Conv2d) for m in one.modules())


def test_a_residual_block_adds_its_input() -> None:
    net = ConvNet(_config(residual=True, conv_layers=1, pool="none", channels=1), (1, 6), 2)
    block = net.features[0]
    torch.nn.init.zeros_(block.conv.weight)
    torch.nn.init.zeros_(block.conv.bias)
    x = torch.randn(3, 1, 6)
    assert torch.equal(block(x), torch.relu(x))  # conv gives 0: what is left is the skip


def test_pooling_and_stride_shrink_the_flattened_width() -> None:
    widths = {
        knobs: ConvNet(_config(**dict(knobs)), (1, 40), 2).head[-1].in_features
        for knobs in [(("pool", "none"),), (("pool", "max"),), (("stride", 2), ("pool", "none"))]
    }
    assert list(widths.values()) == [32 * 40, 32 * 5, 32 * 5]


def test_cnn_on_digits_reaches_a_sensible_accuracy_fast() -> None:
    spec = DataSpec.from_dict({"dataset": "digits"})
    ctx = RecordingContext(spec)
    config = {"epochs": 4, "channels": 8, "conv_layers": 2, "kernel": 3, "lr": 1e-2}
    train_cnn(config, ctx)
    assert len(ctx.reports) == 4
    assert ctx.reports[-1]["val_accuracy"] >= 0.85, ctx.reports
    assert set(ctx.reports[-1]) >= {"train_loss", "val_loss", "val_accuracy", "n_params"}


@pytest.mark.slow
def test_cnn_on_mnist1d_reaches_the_papers_cnn_on_its_test_set() -> None:
    """Greydanus (2020): 0.94 for a CNN, 0.68 for an MLP. Scored as a sweep scores its winner."""
    pytest.importorskip("mnist1d")
    from caviar.trainables.evaluate import score_model

    spec = DataSpec.from_dict({"dataset": "mnist1d"})
    ctx = RecordingContext(spec)
    config = {"epochs": 20, "channels": 32, "batch_norm": True, "lr": 3e-3, "lr_schedule": "cosine"}
    train_cnn(config, ctx)
    data = load_dataset(spec)
    model = CNN.build(CNN.with_defaults(config), data)
    model.load_state_dict(ctx.checkpoints[-1][1]["folds"][0]["model"])
    assert data.x_test is not None and data.y_test is not None
    scores = score_model(model, data.x_test, data.y_test, "classification")
    assert scores["test_accuracy"] >= 0.94, scores


SMALL = DataSpec(n_samples=120, n_features=8, n_classes=3, shape=(2, 4), seed=1)


def test_a_restored_cnn_continues_bit_for_bit() -> None:
    config = {
        "epochs": 4,
        "channels": 4,
        "kernel": 3,
        "batch_norm": True,
        "dropout": 0.1,
        "residual": True,
        "lr_schedule": "cosine",
        "batch_size": 16,
    }
    straight = RecordingContext(SMALL)
    train_cnn(config, straight)
    iteration, state = straight.checkpoints[1]  # after epoch 2
    resumed = RecordingContext(SMALL, saved=(iteration, state))
    train_cnn(config, resumed)
    assert [r["val_loss"] for r in resumed.reports] == [r["val_loss"] for r in straight.reports[2:]]


def test_regression_and_folds_train_too() -> None:
    spec = DataSpec(synthetic="regression", n_samples=90, n_features=6, folds=3, shape=(1, 6))
    ctx = RecordingContext(spec)
    train_cnn({"epochs": 2, "channels": 4, "kernel": 3}, ctx)
    assert len(ctx.reports) == 2 and "val_accuracy" not in ctx.reports[-1]
    assert len(load_dataset(spec).folds) == 3


def test_a_packaged_shape_is_used_without_data_shape() -> None:
    net = CNN.build(_config(kernel=3), load_dataset(DataSpec.from_dict({"dataset": "digits"})))
    assert isinstance(net, ConvNet) and net.shape == (1, 8, 8)
    assert CNN.build(_config(), load_dataset(DataSpec(n_features=12))).shape == (1, 12)  # type: ignore[union-attr]


SPACE_ERRORS: dict[str, tuple[dict[str, Any], str, str]] = {
    "mlp knob": ({"layers": 2}, "space.layers", "not a knob of the cnn trainable"),
    "misspelled": ({"chanels": 8}, "space.chanels", "did you mean 'channels'"),
    "zero kernel": ({"kernel": 0}, "space.kernel", "must be >= 1"),
    "pool unknown": ({"pool": "median"}, "space.pool", "unknown value 'median'"),
    "head unknown": ({"head": "gap"}, "space.head", "unknown value 'gap'"),
    "dropout one": ({"dropout": 1.0}, "space.dropout", "must be < 1"),
}


@pytest.mark.parametrize("case", SPACE_ERRORS)
def test_the_spec_checks_the_cnns_knobs(case: str) -> None:
    space, path, message = SPACE_ERRORS[case]
    with pytest.raises(SpecError) as error:
        check_builtin("cnn", Space.from_dict(space), "val_loss", SMALL)
    assert str(error.value).startswith(path) and message in str(error.value)


def test_the_cnn_accepts_its_knobs_and_the_mlps_training_knobs() -> None:
    space = {
        "channels": "pow2(4, 64)",
        "kernel": "choice(3, 5, 7)",
        "conv_layers": "integer(1, 4)",
        "stride": "choice(1, 2)",
        "pool": "choice('none', 'max', 'avg')",
        "residual": True,
        "batch_norm": True,
        "dropout": "uniform(0, 0.5)",
        "optimizer": "choice('sgd', 'adam', 'adamw', 'rmsprop', 'adagrad', 'adadelta')",
        "lr_schedule": "choice('constant', 'step', 'exponential', 'cosine', 'triangular', 'one_cycle')",
        "lr": "loguniform(1e-4, 1e-1)",
    }
    check_builtin("cnn", Space.from_dict(space), "val_accuracy", SMALL)
