"""What a chainsaw report says: plain dataclasses, no database, no web."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
FORMATS = ("JSON", "XML", "JUNIT-TEST", "JUNIT-STEP", "JUNIT-OPERATION")
MAX_BYTES = 10 * 1024 * 1024  # a report larger than this is refused before it is parsed


class ReportError(ValueError):
    """A report that cannot be read; ``kind`` says why (too_large, malformed, unsafe, unknown)."""

    def __init__(self, message: str, kind: str = "malformed") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


@dataclass
class Outcome:
    """One chainsaw test as a report tells it: how it ended and, when it failed, where."""

    name: str
    folder: str  # the test's base path as chainsaw saw it ("" when the format does not say)
    status: str  # passed, failed, skipped
    duration: float | None = None  # seconds
    started_at: datetime | None = None
    namespace: str | None = None
    concurrent: bool | None = None
    failed_step: str | None = None
    failed_operation: str | None = None
    operation_type: str | None = None  # apply, assert, error, script, ... (JSON and JUNIT-OPERATION say)
    error: str | None = None


@dataclass
class ParsedReport:
    format: str  # one of FORMATS
    name: str | None = None
    started_at: datetime | None = None
    tests: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for test in self.tests if test.status == status)
