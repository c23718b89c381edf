"""The faults suite's summary line: faults injected, survived, rows lost; bad inputs tried, explained.

Tests record what happened through the ``fault`` and ``bad_input`` fixtures; the records travel in
each report's ``user_properties`` (so they also arrive from xdist workers) and are summed here:

    faults: injected 9, survived 9, rows lost 0; bad inputs: tried 64, explained 64

A fault test that never confirms its fault was injected fails (see ``FaultRecord.check``), so no
test of the suite can pass without its fault having happened.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

FAULT = "caviar_fault"
BAD_INPUT = "caviar_bad_input"
MATRIX = "caviar_fault_matrix"


@dataclass
class FaultRecord:
    """What one fault test did: which fault, whether it was injected, rows lost after it."""

    name: str
    injected: int = 0
    rows_lost: int | None = None

    def inject(self, count: int = 1) -> None:
        """Call once the test has seen its fault happen (the process died, the trial raised...)."""
        self.injected += count

    def lost(self, rows: int) -> None:
        """Record how many reported rows are missing from Parquet (compared with a ground truth)."""
        self.rows_lost = rows

    def check(self) -> None:
        assert self.injected > 0, f"the fault {self.name!r} was never injected"


@dataclass
class Summary:
    faults: int = 0
    survived: int = 0
    rows_lost: int = 0
    bad_inputs: int = 0
    explained: int = 0

    def line(self) -> str:
        return (
            f"faults: injected {self.faults}, survived {self.survived}, "
            f"rows lost {self.rows_lost}; bad inputs: tried {self.bad_inputs}, "
            f"explained {self.explained}"
        )


_summary = Summary()


@dataclass
class MatrixSummary:
    """The fault matrix's line (tests/faults/test_fault_matrix.py), summed over its cases."""

    cases: int = 0
    reported: int = 0
    lost: int = 0
    duplicated: int = 0

    def line(self) -> str:
        return (
            f"fault matrix: cases {self.cases}, rows reported {self.reported}, "
            f"rows lost {self.lost}, duplicated {self.duplicated}"
        )


_matrix = MatrixSummary()


def record_matrix_case(node: Any, reported: int, lost: int, duplicated: int) -> None:
    """Record one fault-matrix case: rows its trainables reported, lost and stored twice."""
    node.user_properties.append(
        (MATRIX, {"reported": reported, "lost": lost, "duplicated": duplicated})
    )


@pytest.fixture
def fault(request: pytest.FixtureRequest) -> Iterator[FaultRecord]:
    """A record of the fault this test injects; the test fails if it never calls ``inject``."""
    record = FaultRecord(request.node.name)
    yield record
    request.node.user_properties.append(
        (FAULT, {"name": record.name, "injected": record.injected, "rows_lost": record.rows_lost})
    )
    record.check()


def record_bad_input(node: Any, case: str, explained: bool) -> None:
    """Record one bad input and whether caviar explained it (exit 2, one line naming the key)."""
    node.user_properties.append((BAD_INPUT, {"case": case, "explained": explained}))


_call_passed: dict[str, bool] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Sum the records: a fault survived if its test passed (teardown checks it was injected)."""
    if report.when == "call":
        _call_passed[report.nodeid] = report.passed
        for key, value in report.user_properties:
            if key == BAD_INPUT:
                _summary.bad_inputs += 1
                _summary.explained += int(bool(value["explained"]) and report.passed)
            if key == MATRIX:
                _matrix.cases += 1
                _matrix.reported += value["reported"]
                _matrix.lost += value["lost"]
                _matrix.duplicated += value["duplicated"]
    elif report.when == "teardown":
        for key, value in report.user_properties:
            if key == FAULT and value["injected"]:
                _summary.faults += 1
                passed = _call_passed.get(report.nodeid, False) and report.passed
                _summary.survived += int(passed and not value["rows_lost"])
                _summary.rows_lost += value["rows_lost"] or 0


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _summary.faults or _summary.bad_inputs:
        terminalreporter.write_sep("=", "caviar faults suite")
        terminalreporter.write_line(_summary.line())
    if _matrix.cases:
        terminalreporter.write_line(_matrix.line())
