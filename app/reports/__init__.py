"""Chainsaw reports: bytes in, dataclasses out. Pure: no DB, no web.

``parse_report(data)`` detects the format from the content (chainsaw's JSON
report, or one of its JUnit XML shapes) and returns a ``ParsedReport``;
``match_tests`` ties each test to the modules a scan found it covers.
"""

from __future__ import annotations

from app.reports.match import TestIndex, match_tests
from app.reports.model import FAILED, FORMATS, MAX_BYTES, PASSED, SKIPPED, Outcome, ParsedReport, ReportError
from app.reports.parse import parse_report

__all__ = [
    "FAILED", "FORMATS", "MAX_BYTES", "PASSED", "SKIPPED", "Outcome", "ParsedReport", "ReportError",
    "TestIndex", "match_tests", "parse_report",
]  # fmt: skip
