"""Placing trials on nodes, without Ray: which requests no node holds, how many fit at once."""

from __future__ import annotations

import pytest

from caviar.errors import SpecError
from caviar.tune.resources import (
    NodeCapacity,
    check_resources,
    storage_warnings,
    trial_slots,
    unplaceable,
)

TWO_GPU = [NodeCapacity("a", "10.0.0.1", cpu=8, gpu=2)]
MIXED = [NodeCapacity("a", "10.0.0.1", cpu=16, gpu=0), NodeCapacity("b", "10.0.0.2", cpu=4, gpu=1)]


@pytest.mark.parametrize(
    ("cpu", "gpu", "nodes", "slots"),
    [
        (1, 0.25, TWO_GPU, 8),
        (1, 0.5, TWO_GPU, 4),
        (0.5, 0.25, TWO_GPU, 8),
        (1, 0, TWO_GPU, 8),
        (2, 0, MIXED, 10),
        (1, 1, MIXED, 1),
        (1, 0.1, TWO_GPU, 8),  # 20 by GPU, 8 by CPU
    ],
)
def test_trial_slots(cpu: float, gpu: float, nodes: list[NodeCapacity], slots: int) -> None:
    assert trial_slots(cpu, gpu, nodes) == slots


def test_a_trial_that_fits_one_node_is_placeable() -> None:
    assert unplaceable(1, 2, TWO_GPU) is None
    assert unplaceable(4, 1, MIXED) is None


@pytest.mark.parametrize(
    ("cpu", "gpu", "nodes", "match"),
    [
        (
            1,
            3,
            TWO_GPU,
            r"resources\.gpu: a trial asks for 1 CPU and 3 GPUs, but the node with the most GPUs has 2 GPUs",
        ),
        (
            64,
            0,
            TWO_GPU,
            r"resources\.cpu: a trial asks for 64 CPUs, but the node with the most CPUs has 8 CPUs",
        ),
        # 16 CPUs on one node, 1 GPU on another: no single node has both.
        (8, 1, MIXED, r"resources: a trial asks for 8 CPUs and 1 GPU, but no single node has both"),
        (1, 0, [], r"no alive node"),
    ],
)
def test_a_trial_no_node_holds_is_a_spec_error(
    cpu: float, gpu: float, nodes: list[NodeCapacity], match: str
) -> None:
    with pytest.raises(SpecError, match=match):
        check_resources(cpu, gpu, nodes)


def test_local_storage_on_several_nodes_is_warned() -> None:
    (warning,) = storage_warnings("results", MIXED)
    assert "local path" in warning and "2 nodes on 2 hosts" in warning and "s3://" in warning
    assert storage_warnings("s3://bucket/sweeps", MIXED) == []
    assert storage_warnings("results", TWO_GPU) == []
