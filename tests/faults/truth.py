"""Ground truth for fault tests: what trainables say they reported, compared with what Parquet holds."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import caviar


def reported(ground_truth: Path) -> set[tuple[str, int]]:
    """Every (trial_id, iteration) a trainable logged after handing its report to Ray Tune."""
    found = set()
    for line in ground_truth.read_text().split():
        fields = line.split(",")
        if len(fields) == 2:
            found.add((fields[0], int(fields[1])))
    return found


def injected(ground_truth: Path, fault: str) -> list[str]:
    """The trials that logged injecting ``fault``."""
    lines = ground_truth.read_text().split() if ground_truth.exists() else []
    return [
        line.split(",")[1]
        for line in lines
        if line.startswith("inject,") and line.endswith(f",{fault}")
    ]


def rows_lost(sweep: str, ground_truth: Path, raw: bool = True) -> int:
    """Reported rows of the sweep's trials missing from Parquet, plus rows stored more than once.

    ``raw``: also count duplicates across the files themselves (for a sweep that finished: a
    stopped one may hold replayed rows in two parts, which readers resolve). A trial's truth is what it logged up to the iterations its trials row records: a trial that
    Tune stopped may have logged one more report that Tune, having stopped it, never took.
    """
    trials = caviar.read_trials(sweep)
    upto = dict(zip(trials["trial_id"], trials["iterations"].fillna(0).astype(int), strict=True))
    truth = {(t, i) for t, i in reported(ground_truth) if t in upto and i <= upto[t]}
    curves = caviar.read_curves(sweep)
    stored = Counter(zip(curves["trial_id"], curves["iteration"].astype(int), strict=True))
    missing = len(truth - set(stored))
    repeated = sum(n - 1 for n in stored.values())
    if not raw:
        return missing + repeated
    # A finished sweep's parts, read raw: the reader deduplicates, a duplicate on disk still counts.
    import duckdb

    raw = duckdb.sql(
        f"select count(*) - count(distinct (trial_id, iteration)) "
        f"from read_parquet('{sweep}/curves/*.parquet')"
    ).fetchall()
    return missing + repeated + int(raw[0][0])
