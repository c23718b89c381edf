"""Checks of a sweep against the Ray cluster it is about to run on, made before any trial starts.

Ray Tune leaves a trial that no node can hold PENDING forever (it waits for an autoscaler that may
not exist). A trial needs one node with everything it asks for, so ``resources:`` is compared with
each alive node, and a request that fits none is a one-line error (exit 2). (On an autoscaling
cluster this checks the nodes up now: ask for what the largest node type offers.)

Checkpoints are written by the node a trial runs on, into the sweep's storage: on a multi-node
cluster that storage must be one every node reaches (s3://, or a shared filesystem mounted at the
same path), which is a warning when it is a local path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from caviar.errors import SpecError


@dataclass(frozen=True)
class NodeCapacity:
    """What one alive Ray node offers."""

    node_id: str
    ip: str
    cpu: float
    gpu: float


def alive_nodes() -> list[NodeCapacity]:
    """The alive nodes of the connected Ray cluster and their total CPUs and GPUs."""
    import ray

    nodes = []
    for node in ray.nodes():  # type: ignore[no-untyped-call]
        if not node.get("Alive"):
            continue
        total = node.get("Resources", {})
        nodes.append(
            NodeCapacity(
                node_id=str(node.get("NodeID", "")),
                ip=str(node.get("NodeManagerAddress", "")),
                cpu=float(total.get("CPU", 0)),
                gpu=float(total.get("GPU", 0)),
            )
        )
    return nodes


def unplaceable(cpu: float, gpu: float, nodes: Sequence[NodeCapacity]) -> tuple[str, str] | None:
    """(spec key, why) no node can run a trial asking for ``cpu`` and ``gpu``; None when one can."""
    if any(node.cpu >= cpu and node.gpu >= gpu for node in nodes):
        return None
    asked = _amount(cpu, "CPU") + (f" and {_amount(gpu, 'GPU')}" if gpu else "")
    if not nodes:
        return "resources", f"a trial asks for {asked} but the cluster has no alive node"
    most_gpu = max(node.gpu for node in nodes)
    most_cpu = max(node.cpu for node in nodes)
    if gpu > most_gpu:
        have = f"the node with the most GPUs has {_amount(most_gpu, 'GPU')}"
        key = "resources.gpu"
    elif cpu > most_cpu:
        have = f"the node with the most CPUs has {_amount(most_cpu, 'CPU')}"
        key = "resources.cpu"
    else:
        have = "no single node has both (" + ", ".join(
            f"{_amount(n.cpu, 'CPU')} + {_amount(n.gpu, 'GPU')}" for n in nodes[:4]
        )
        have += ", ...)" if len(nodes) > 4 else ")"
        key = "resources"
    return key, f"a trial asks for {asked}, but {have}: it would wait forever (PENDING)"


def _amount(value: float, unit: str) -> str:
    return f"{value:g} {unit}{'s' if value != 1 else ''}"


def check_resources(cpu: float, gpu: float, nodes: Sequence[NodeCapacity] | None = None) -> None:
    """SpecError when no alive node can hold one trial."""
    reason = unplaceable(cpu, gpu, alive_nodes() if nodes is None else nodes)
    if reason is None:
        return
    raise SpecError(*reason)


def storage_warnings(storage: str, nodes: Sequence[NodeCapacity] | None = None) -> list[str]:
    """A warning when a multi-node cluster checkpoints to a path only this machine may see."""
    nodes = alive_nodes() if nodes is None else nodes
    hosts = {node.ip for node in nodes}
    if len(nodes) < 2 or "://" in storage:
        return []
    where = f"{len(nodes)} nodes" + (f" on {len(hosts)} hosts" if len(hosts) > 1 else "")
    return [
        f"storage {storage!r} is a local path and the cluster has {where}: trials write their "
        "checkpoints where they run, so every node must see this path (a shared filesystem "
        "mounted at the same place), or use storage: s3://bucket/prefix; otherwise a trial moved "
        "to another node cannot resume from its checkpoint"
    ]


def trial_slots(cpu: float, gpu: float, nodes: Sequence[NodeCapacity]) -> int:
    """How many trials asking for ``cpu`` and ``gpu`` the cluster's nodes hold at once."""
    total = 0
    for node in nodes:
        fits = [node.cpu / cpu if cpu else math.inf, node.gpu / gpu if gpu else math.inf]
        total += int(min(fits) + 1e-9) if min(fits) != math.inf else 0
    return total
