"""Asynchronous successive halving (ASHA, Li et al. 2018) as pure rung/promotion logic: no Ray.

It makes the decisions Ray Tune's ``AsyncHyperBandScheduler`` makes for the same sequence of
results (a test feeds both the same sequence), so one ``Asha`` can decide for trials that Ray never
sees one by one: the members of fused bundles, all of them in one set of rungs, whatever bundle
each member trains in. Its state is plain data (``state()`` / ``Asha.load``), keyed by trial id, to
be stored with the sweep.

Ray's rules, kept exactly:

* a bracket ``s`` has rungs at ``grace_period * reduction_factor ** (k + s)`` for
  ``k < int(log(max_t / grace_period) / log(reduction_factor) - s + 1)`` (``milestones``);
* a result at iteration ``t`` is recorded at the highest rung ``<= t`` the trial has no record at,
  and stops the trial when its reward is below the ``(1 - 1 / reduction_factor)`` percentile of
  the rewards already recorded there (NaN ignored); the first trial at a rung always continues;
* a result at ``t >= max_t`` stops the trial (``stop_last_trials``) without being recorded; the
  trial's last result is recorded when it completes (``on_complete``), as Ray's
  ``on_trial_complete`` does;
* the reward is ``value`` for ``mode: max`` and ``-value`` for ``min`` (``Objective.sign``).

Two differences, on purpose:

* with several brackets, Ray assigns a trial to a bracket with numpy's global RNG; here the same
  softmax over bracket sizes draws from a generator seeded by ``seed``;
* a trial that reaches a rung again (it restarted from an earlier checkpoint, or from scratch) is
  decided again against the records that were there before its own (each rung keeps its records
  in arrival order), so it gets the decision it got the first time; Ray lets it continue.
  That is what keeps a resumed sweep's cuts those of the uninterrupted one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from caviar.objective import Objective

__all__ = ["CONTINUE", "STOP", "Asha", "Bracket", "Rungs", "milestones", "natural_key"]

CONTINUE, STOP = "CONTINUE", "STOP"  # Ray's TrialScheduler.CONTINUE / STOP


def milestones(
    grace_period: float, max_t: float, reduction_factor: float, s: int = 0
) -> list[float]:
    """The rungs of bracket ``s``, lowest first, computed as Ray's ``_Bracket`` computes them."""
    count = int(np.log(max_t / grace_period) / np.log(reduction_factor) - s + 1)
    return [grace_period * reduction_factor ** (k + s) for k in range(count)]


def natural_key(trial_id: str) -> tuple[Any, ...]:
    """Sorts ids by their numbers as numbers: ``b_m2`` before ``b_m10``, ``t_00009`` before ``t_00010``."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", trial_id))


class Rungs(Protocol):
    """What decides for bundle members: an ``Asha``, or a proxy to one the whole sweep shares."""

    def on_result(self, trial_id: str, iteration: float, value: Any) -> str: ...

    def on_complete(self, trial_id: str, iteration: float, value: Any) -> None: ...

    def state(self) -> dict[str, Any]: ...

    def load(self, state: Mapping[str, Any]) -> None: ...


@dataclass
class Bracket:
    """One bracket's rungs: per milestone, the reward recorded there for each trial id."""

    grace_period: float
    max_t: float
    reduction_factor: float
    s: int = 0
    stop_last_trials: bool = True
    rungs: list[tuple[float, dict[str, float]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.rungs:  # highest milestone first, as Ray keeps them
            marks = milestones(self.grace_period, self.max_t, self.reduction_factor, self.s)
            self.rungs = [(mark, {}) for mark in reversed(marks)]

    def cutoff(self, recorded: Mapping[str, float]) -> float | None:
        """The reward a trial must reach at a rung holding ``recorded``; None for an empty rung."""
        if not recorded:
            return None
        quantile = (1 - 1 / self.reduction_factor) * 100
        return float(np.nanpercentile(list(recorded.values()), quantile))

    def on_result(self, trial_id: str, iteration: float, reward: float) -> str:
        """Record ``reward`` at the rung ``iteration`` reached, if new there; STOP or CONTINUE.

        At a rung the trial reached before (``iteration`` is the rung and it has a record there),
        the decision is made again against the records that came before its own.
        """
        for milestone, recorded in self.rungs:
            if iteration >= milestone and trial_id in recorded and not self.stop_last_trials:
                break  # already promoted past this rung
            if iteration < milestone:
                continue
            if trial_id in recorded:
                if iteration == milestone:
                    return self.decide_again(recorded, trial_id, reward)
                continue
            cutoff = self.cutoff(recorded)
            recorded[trial_id] = reward
            return STOP if cutoff is not None and reward < cutoff else CONTINUE
        return CONTINUE

    def decide_again(self, recorded: dict[str, float], trial_id: str, reward: float) -> str:
        """A trial back at a rung it has a record at: judged by the records that came before."""
        ids = list(recorded)
        before = {t: recorded[t] for t in ids[: ids.index(trial_id)]}
        recorded[trial_id] = reward  # keeps its place in the arrival order
        cutoff = self.cutoff(before)
        return STOP if cutoff is not None and reward < cutoff else CONTINUE


class Asha:
    """ASHA's decisions over trial ids: ``add`` each trial, then ``on_result`` per result."""

    def __init__(
        self,
        objective: Objective,
        max_t: float = 100,
        grace_period: float = 1,
        reduction_factor: float = 4,
        brackets: int = 1,
        stop_last_trials: bool = True,
        seed: int = 0,
    ) -> None:
        if not 0 < grace_period <= max_t:
            raise ValueError(f"asha: need 0 < grace_period <= max_t, got {grace_period}, {max_t}")
        if reduction_factor <= 1:
            raise ValueError(f"asha: reduction_factor must be > 1, got {reduction_factor}")
        if brackets < 1:
            raise ValueError(f"asha: brackets must be >= 1, got {brackets}")
        self.objective = objective
        self.max_t = max_t
        self.stop_last_trials = stop_last_trials
        self.brackets = [
            Bracket(grace_period, max_t, reduction_factor, s, stop_last_trials)
            for s in range(brackets)
        ]
        self.assigned: dict[str, int] = {}
        self._rng = np.random.default_rng(seed)

    @classmethod
    def from_options(cls, objective: Objective, options: Mapping[str, Any]) -> Asha:
        """From the spec's ``scheduler:`` options (Ray's names; Ray's defaults where absent)."""
        known = ("max_t", "grace_period", "reduction_factor", "brackets", "stop_last_trials")
        return cls(objective, **{k: options[k] for k in known if k in options})

    def add(self, trial_id: str) -> int:
        """Place a new trial in a bracket (the softmax over bracket sizes, as Ray's); its index."""
        if trial_id not in self.assigned:
            sizes = np.array([len(b.rungs) for b in self.brackets])
            probs = np.e ** (sizes - sizes.max())
            index = (
                0 if len(sizes) == 1 else int(self._rng.choice(len(sizes), p=probs / probs.sum()))
            )
            self.assigned[trial_id] = index
        return self.assigned[trial_id]

    def reward(self, value: Any) -> float | None:
        """The value as a reward (larger is better); None for a value that is not a number."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return -self.objective.sign * float(value)

    def on_result(self, trial_id: str, iteration: float, value: Any) -> str:
        """ASHA's decision on ``trial_id``'s ``value`` of the metric at ``iteration``."""
        reward = self.reward(value)
        if reward is None:
            return CONTINUE  # Ray decides nothing on a result without the metric
        if iteration >= self.max_t and self.stop_last_trials:
            return STOP
        return self.brackets[self.add(trial_id)].on_result(trial_id, iteration, reward)

    def on_complete(self, trial_id: str, iteration: float, value: Any) -> None:
        """The trial's last result once it has ended (stopped or finished), recorded as Ray does."""
        reward = self.reward(value)
        if reward is not None:
            self.brackets[self.add(trial_id)].on_result(trial_id, iteration, reward)

    def replay(
        self, rows: Iterable[tuple[str, float, Any]], order: Sequence[str] | None = None
    ) -> None:
        """Rebuild the rungs from stored results ``(trial_id, iteration, value)`` in any order,
        e.g. a sweep's curves on resume: what a trial recorded depends only on its own curve.

        The records at each rung are placed in ``order`` of their trials (then the others, in
        ``natural_key`` order): the order they arrived in, as far as the caller knows it. That
        order is what a restarted trial is decided again by (``Bracket.decide_again``).
        """
        rank = {trial_id: i for i, trial_id in enumerate(order or ())}

        def key(row: tuple[str, float, Any]) -> tuple[int, tuple[Any, ...], float]:
            return (rank.get(row[0], len(rank)), natural_key(row[0]), row[1])

        for trial_id, iteration, value in sorted(rows, key=key):
            self.on_complete(trial_id, iteration, value)

    def state(self) -> dict[str, Any]:
        """Plain data (lists, dicts, numbers), for ``load``: the rungs and the bracket of each trial."""
        return {
            "rungs": [[dict(recorded) for _, recorded in b.rungs] for b in self.brackets],
            "assigned": dict(self.assigned),
            "rng": self._rng.bit_generator.state,
        }

    def load(self, state: Mapping[str, Any]) -> None:
        """Continue from ``state()`` of an Asha built with the same options."""
        for bracket, rungs in zip(self.brackets, state["rungs"], strict=True):
            for (_, recorded), saved in zip(bracket.rungs, rungs, strict=True):
                recorded.clear()
                recorded.update(saved)
        self.assigned = dict(state.get("assigned", {}))
        if "rng" in state:
            self._rng.bit_generator.state = state["rng"]
