"""Chainsaw's JUnit XML reports (chainsaw's pkg/report/junit.go), told apart by their shape.

- JUNIT-TEST (and XML, its older name, which leaves ``classname`` empty): one
  ``<testsuite>`` per test folder (its ``name``), one ``<testcase>`` per test.
- JUNIT-STEP: one ``<testsuite>`` per test (``name``; its folder in ``package``),
  one ``<testcase>`` per step, ``classname`` the test's name.
- JUNIT-OPERATION: the same suites, one ``<testcase>`` per operation, named
  ``step / operation``, ``classname`` the operation's type.

A skipped test is one ``<testcase>`` holding ``<skipped>``; a failure is a
``<failure message=...>`` (an ``<error>`` counts the same).
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from app.reports.chainsaw_json import timestamp
from app.reports.model import FAILED, PASSED, SKIPPED, Outcome, ParsedReport, ReportError


def parse_junit(root: Element) -> ParsedReport:
    if root.tag == "testsuite":  # a lone suite: read it as the one suite of a report
        suites, name = [root], None
    elif root.tag == "testsuites":
        suites, name = root.findall("testsuite"), root.get("name") or None
    else:
        raise ReportError(f"not a chainsaw report: the XML root is <{root.tag}>, expected <testsuites>", "unknown")
    kind = shape(suites)
    if kind in ("JUNIT-STEP", "JUNIT-OPERATION"):
        tests = [_suite_as_test(suite, kind) for suite in suites]
    else:
        tests = [_case_as_test(case, suite.get("name", "")) for suite in suites for case in suite.iter("testcase")]
    return ParsedReport(format=kind, name=name, started_at=_first_timestamp(suites), tests=tests)


def shape(suites: list[Element]) -> str:
    """Which JUnit format wrote ``suites`` (see the module's docstring)."""
    if not any(suite.get("package") is not None for suite in suites):
        cases = [case for suite in suites for case in suite.iter("testcase")]
        return "XML" if cases and all(not case.get("classname") for case in cases) else "JUNIT-TEST"
    for suite in suites:
        for case in suite.iter("testcase"):
            if case.get("classname") != suite.get("name"):  # steps name their test; operations their type
                return "JUNIT-OPERATION"
    return "JUNIT-STEP"


def _case_as_test(case: Element, folder: str) -> Outcome:
    status, message = _result(case)
    return Outcome(name=case.get("name", ""), folder=folder, status=status, duration=_seconds(case), error=message)


def _suite_as_test(suite: Element, kind: str) -> Outcome:
    cases = list(suite.iter("testcase"))
    namespace = next((p.get("value") for p in suite.iter("property") if p.get("name") == "namespace"), None)
    outcome = Outcome(
        name=suite.get("name", ""), folder=suite.get("package", ""), status=PASSED,
        duration=_seconds(suite), namespace=namespace or None,
    )  # fmt: skip
    results = [(case, *_result(case)) for case in cases]
    if results and all(status == SKIPPED for _, status, _ in results):
        outcome.status = SKIPPED
    failed = next(((case, message) for case, status, message in results if status == FAILED), None)
    if failed:
        case, outcome.error = failed
        outcome.status = FAILED
        if kind == "JUNIT-OPERATION":
            name = case.get("name", "")  # "step / operation"; a step's own name may hold " / "
            step, _, operation = name.rpartition(" / ") if " / " in name else (name, "", "")
            outcome.failed_step, outcome.failed_operation = step or None, operation or None
            outcome.operation_type = case.get("classname") or None
        else:
            outcome.failed_step = case.get("name") or None
    return outcome


def _result(case: Element) -> tuple[str, str | None]:
    for child in case:
        if child.tag in ("failure", "error"):
            text = child.get("message") or (child.text or "").strip()
            return FAILED, text or "failed (no error text)"
        if child.tag == "skipped":
            return SKIPPED, None
    return PASSED, None


def _seconds(element: Element) -> float | None:
    try:
        return float(element.get("time", ""))
    except ValueError:
        return None


def _first_timestamp(suites: list[Element]):
    # JUNIT-STEP and JUNIT-OPERATION stamp every suite with the run's start
    return next((timestamp(s.get("timestamp")) for s in suites if s.get("timestamp")), None)
