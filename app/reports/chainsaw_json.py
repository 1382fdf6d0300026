"""Chainsaw's JSON report (``--report-format JSON``, chainsaw's pkg/report/json.go).

``{"name", "startTime", "endTime", "tests": [{"basePath", "name", "concurrent",
"startTime", "endTime", "namespace", "skipped", "steps": [{"name", "startTime",
"endTime", "operations": [{"name", "type", "startTime", "endTime",
"failure": {"error"}}]}]}]}``; Go leaves out empty fields.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from app.reports.model import FAILED, PASSED, SKIPPED, Outcome, ParsedReport, ReportError


def parse_json(data: bytes) -> ParsedReport:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError too
        raise ReportError(f"malformed JSON: {exc}" if not isinstance(exc, RecursionError) else "malformed JSON: nested too deeply") from None
    # chainsaw always writes startTime (a Go time, never omitted) and tests: a name alone is any JSON's
    if not isinstance(document, dict) or not ({"tests", "startTime"} & document.keys()):
        raise ReportError("not a chainsaw JSON report: expected an object with name, startTime and tests", "unknown")
    tests = document.get("tests") or []
    if not isinstance(tests, list):
        raise ReportError("not a chainsaw JSON report: tests is not a list", "unknown")
    return ParsedReport(
        format="JSON",
        name=_text(document.get("name")),
        started_at=timestamp(document.get("startTime")),
        tests=[_test(test, index) for index, test in enumerate(tests)],
    )


def _test(test: Any, index: int) -> Outcome:
    if not isinstance(test, dict) or not isinstance(test.get("name", ""), str):
        raise ReportError(f"not a chainsaw JSON report: tests[{index}] is not a test", "unknown")
    started, ended = timestamp(test.get("startTime")), timestamp(test.get("endTime"))
    outcome = Outcome(
        name=test.get("name") or f"test {index + 1}",
        folder=_text(test.get("basePath")) or "",
        status=SKIPPED if test.get("skipped") is True else PASSED,
        duration=(ended - started).total_seconds() if started and ended else None,
        started_at=started,
        namespace=_text(test.get("namespace")),
        concurrent=test.get("concurrent") if isinstance(test.get("concurrent"), bool) else None,
    )
    if outcome.status != SKIPPED:
        _first_failure(outcome, test.get("steps") or [])
    return outcome


def _first_failure(outcome: Outcome, steps: Any) -> None:
    """Mark ``outcome`` failed at its first failing operation (chainsaw stops a test's steps there)."""
    for step in steps if isinstance(steps, list) else []:
        operations = step.get("operations") if isinstance(step, dict) else None
        for operation in operations if isinstance(operations, list) else []:
            failure = operation.get("failure") if isinstance(operation, dict) else None
            if isinstance(failure, dict):
                outcome.status = FAILED
                outcome.failed_step = _text(step.get("name"))
                outcome.failed_operation = _text(operation.get("name"))
                outcome.operation_type = _text(operation.get("type"))
                outcome.error = _text(failure.get("error")) or "failed (no error text)"
                return


def timestamp(value: Any) -> datetime | None:
    """A Go ``time.Time`` as JSON (RFC 3339, nanoseconds); None for Go's zero time or anything else."""
    if not isinstance(value, str) or value.startswith("0001-01-01"):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
