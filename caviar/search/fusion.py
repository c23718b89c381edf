"""``fuse: K`` planned: the sweep's sampled configs grouped into bundles that train as one trial.

The searcher draws the same configs, in the same order and with the same seeds, as an unfused sweep
(``streams.config_at``); here they are planned up front into Tune trials: configs sharing
``fused.bundle_key`` (layers, hidden units, activation, batch size, optimizer) go into bundles of up
to K, in sampling order, and configs that cannot be fused run as ordinary trials. Each member of a
bundle is its own trial in the results (``<bundle trial id>_m<k>``, see ``caviar.results.fused``).
The Ray side (the planning searcher, the bundle-aware ASHA, the trainable) is
``caviar.tune.fusion``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from caviar.spec.model import SweepSpec
from caviar.trainables.adapter import BUILTIN
from caviar.trainables.bundle import MEMBERS_KEY
from caviar.trainables.data import Dataset

AUTO = "auto"
# fuse: auto aims each fused step at about this much arithmetic (multiply-adds, forward+backward):
# enough to amortize a step's fixed Python and kernel-launch cost. On a CPU core a 2 x 64 MLP with
# batch 64 (2.2e6 per member) kept gaining per member up to K = 32 (benchmarks/fused.py).
AUTO_WORK = {"cpu": 8e7, "gpu": 2e9}
AUTO_MAX = {"cpu": 32, "gpu": 256}


def auto_fuse(config: Mapping[str, Any], data: Dataset, gpu: bool) -> int:
    """K for ``fuse: auto``: how many members of this shape make one step worth its overhead."""
    from caviar.trainables.fused import param_count  # torch: only where a sweep fuses

    n_outputs = data.n_classes if data.task == "classification" else 1
    batch = int(config.get("batch_size", 64))
    work = 6 * param_count(config, data.n_features, n_outputs) * batch
    kind = "gpu" if gpu else "cpu"
    return max(2, min(AUTO_MAX[kind], int(AUTO_WORK[kind] // max(1, work))))


def plan_trials(
    configs: list[dict[str, Any]], data: Dataset, fuse: int | str, gpu: bool = False
) -> tuple[list[dict[str, Any]], list[str]]:
    """The Tune trial configs (bundles and single trials) for ``configs``, and notes on fallbacks."""
    from caviar.trainables.fused import bundle_key, unfusable_reason

    notes: list[str] = []
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    order: list[tuple[Any, ...] | int] = []
    for index, config in enumerate(configs):
        reason = unfusable_reason(config, data)
        if reason is not None:
            notes.append(f"trial {index} runs unfused: {reason}")
            order.append(index)
            continue
        key = bundle_key(config)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(config)
    planned: list[dict[str, Any]] = []
    for item in order:
        if isinstance(item, int):
            planned.append(configs[item])
            continue
        members = groups[item]
        size = auto_fuse(members[0], data, gpu) if fuse == AUTO else int(fuse)
        for first in range(0, len(members), size):
            chunk = members[first : first + size]
            planned.append(chunk[0] if len(chunk) == 1 else {MEMBERS_KEY: chunk})
    return planned, notes


def stop_rule(spec: SweepSpec) -> dict[str, Any]:
    """The scheduler's rule as bundles apply it to their members: ASHA's options, or none."""
    if spec.scheduler.name != "asha":
        return {}
    return {"metric": spec.metric, "mode": spec.mode, **spec.scheduler.options}


def fallback_summary(notes: list[str], total: int) -> str:
    """One line for all configs that run unfused: how many, and why, most common reason first."""
    reasons = Counter(note.partition(" runs unfused: ")[2] for note in notes)
    why = "; ".join(f"{reason} ({count})" for reason, count in reasons.most_common())
    return f"{len(notes)} of {total} trials run unfused: {why}"


def fuses(spec: SweepSpec) -> bool:
    """Whether this sweep fuses: ``fuse:`` set and the built-in mlp (user trainables fall back)."""
    return spec.fuse is not None and spec.trainable == BUILTIN


def unfused_note(spec: SweepSpec) -> str | None:
    """Why a sweep with ``fuse:`` set runs unfused (None when it fuses or never asked to)."""
    if spec.fuse is None or fuses(spec):
        return None
    return f"trials run unfused: only the built-in mlp fuses, not {spec.trainable}"
