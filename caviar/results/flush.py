"""When the writer flushes its buffer, and when it merges the curves parts it wrote.

Rows are buffered on the driver and flushed as one curves part when the buffer is large or old.
Besides these, the writer flushes at the end of the sweep and whenever the tuner snapshots its
state (the exactly-once rule, see ``caviar.results.writer``). A long sweep flushes every few
seconds; past ``compact_parts`` parts, or once the unmerged rows would make half a big part, they
are merged while it runs, so the file count stays bounded by time as well as by trials.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from caviar.results.compaction import BIG_PART_ROWS


@dataclass
class FlushPolicy:
    """Thresholds for flushing and merging, and what has been written since the last merge."""

    rows: int = 20_000
    seconds: float = 10.0
    compact_parts: int = 32
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    parts: int = 0
    unmerged_rows: int = 0
    last_flush: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.last_flush = self.clock()

    def old(self) -> bool:
        """The last flush is longer ago than ``seconds``."""
        return self.clock() - self.last_flush > self.seconds

    def full(self, buffered: int) -> bool:
        """A report just arrived: flush if the buffer is large or old."""
        return buffered >= self.rows or self.old()

    def due(self, buffered: int, dirty: bool) -> bool:
        """Between reports (a step, an error): flush only what is old, so errors and quiet
        spells still reach storage in time while a busy sweep is not rewritten at every event."""
        return (buffered > 0 or dirty) and self.old()

    def wrote_part(self, rows: int) -> bool:
        """One more part of ``rows`` rows: whether to merge the parts now."""
        self.parts += 1
        self.unmerged_rows += rows  # merged before they make one big part: short merges
        return self.parts > self.compact_parts or self.unmerged_rows >= BIG_PART_ROWS // 2

    def merged(self) -> None:
        self.parts, self.unmerged_rows = 1, 0

    def flushed(self) -> None:
        self.last_flush = self.clock()

    def restart(self, parts: int) -> None:
        """At a (re)start: the parts already on storage, nothing unmerged counted yet."""
        self.parts, self.unmerged_rows = parts, 0
        self.last_flush = self.clock()
