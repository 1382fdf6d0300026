"""Chainsaw reports written the way chainsaw writes them (its pkg/report and testdata/report):
the same elements, attributes and their order, for tests described here in a few words."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import quoteattr

START = datetime(2026, 11, 28, 20, 34, 58, 651387, tzinfo=UTC)


@dataclass
class Op:
    name: str
    type: str = "apply"
    error: str | None = None


@dataclass
class Step:
    name: str
    operations: list[Op] = field(default_factory=list)


@dataclass
class Case:
    """One chainsaw test: its folder (basePath), name, steps; skipped or concurrent."""

    folder: str
    name: str
    steps: list[Step] = field(default_factory=list)
    skipped: bool = False
    concurrent: bool | None = None
    namespace: str = "chainsaw-demo"
    minutes: int = 3


def passing(folder: str, name: str) -> Case:
    return Case(folder, name, [Step("Apply modules", [Op("apply-1"), Op("assert-1", "assert")])])


def failing(folder: str, name: str, error: str, step: str = "Validate networking-core", op: str = "assert-2") -> Case:
    steps = [Step("Apply modules", [Op("apply-1")]), Step(step, [Op("assert-1", "assert"), Op(op, "assert", error)])]
    return Case(folder, name, steps)


def _go_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "237Z"  # Go writes nanoseconds


def _seconds(minutes: float) -> str:
    return f"{minutes * 60:.6f}"


def json_report(cases: list[Case], name: str = "chainsaw-report") -> bytes:
    tests = []
    for n, case in enumerate(cases):
        begin = START + timedelta(minutes=n)
        test = {"basePath": case.folder, "name": case.name}
        if case.concurrent is not None:
            test["concurrent"] = case.concurrent
        test |= {"startTime": _go_time(begin), "endTime": _go_time(begin + timedelta(minutes=case.minutes)), "namespace": case.namespace}
        if case.skipped:
            test["skipped"] = True
        if case.steps and not case.skipped:
            test["steps"] = [
                {"name": s.name, "startTime": _go_time(begin), "endTime": _go_time(begin + timedelta(minutes=1)),
                 "operations": [
                     {"name": o.name, "type": o.type, "startTime": _go_time(begin), "endTime": _go_time(begin),
                      **({"failure": {"error": o.error}} if o.error else {})}
                     for o in s.operations]}
                for s in case.steps
            ]  # fmt: skip
        tests.append(test)
    body = {"name": name, "startTime": _go_time(START), "endTime": _go_time(START + timedelta(minutes=10)), "tests": tests}
    return json.dumps(body, indent=2).encode()


def _errors(case: Case) -> list[str]:
    return [o.error for s in case.steps for o in s.operations if o.error]


def _testcase(name: str, classname: str, minutes: float, error: str | None, skipped: bool, indent: str) -> str:
    head = f'{indent}<testcase name={quoteattr(name)} classname={quoteattr(classname)} time="{_seconds(minutes)}">'
    if skipped:
        return f'{head}\n{indent}  <skipped message=""></skipped>\n{indent}</testcase>'
    if error:
        return f"{head}\n{indent}  <failure message={quoteattr(error)}></failure>\n{indent}</testcase>"
    return f"{head}</testcase>"


def _root(name: str, cases: list[Case], suites: list[str], tests: int) -> bytes:
    failures = sum(1 for c in cases if _errors(c) and not c.skipped)
    skipped = sum(1 for c in cases if c.skipped)
    head = f'<testsuites name={quoteattr(name)} time="600.000000" tests="{tests}" failures="{failures}" skipped="{skipped}">'
    return "\n".join([head, *suites, "</testsuites>"]).encode()


def junit_test(cases: list[Case], name: str = "chainsaw-report", classname: bool = True) -> bytes:
    """JUNIT-TEST: a suite per folder, a case per test (``classname=False``: the older XML format)."""
    folders: dict[str, list[Case]] = {}
    for case in cases:
        folders.setdefault(case.folder, []).append(case)
    suites = []
    for folder, members in folders.items():
        failures = sum(1 for c in members if _errors(c) and not c.skipped)
        skipped = sum(1 for c in members if c.skipped)
        lines = [f'  <testsuite name={quoteattr(folder)} tests="{len(members)}" failures="{failures}" errors="0" id="0"'
                 + (f' skipped="{skipped}"' if skipped else "") + ' time="">']  # fmt: skip
        for c in members:
            error = "; ".join(_errors(c)) or None
            lines.append(_testcase(c.name, c.name if classname else "", c.minutes, error, c.skipped, "    "))
        lines.append("  </testsuite>")
        suites.append("\n".join(lines))
    return _root(name, cases, suites, len(cases))


def xml_report(cases: list[Case], name: str = "chainsaw-report") -> bytes:
    return junit_test(cases, name, classname=False)


def _per_test(cases: list[Case], name: str, rows) -> bytes:
    suites, total = [], 0
    for case in cases:
        cases_xml = list(rows(case))
        total += len(cases_xml)
        failures = sum(1 for x in cases_xml if "<failure" in x)
        head = (f'  <testsuite name={quoteattr(case.name)} tests="{len(cases_xml)}" failures="{failures}" errors="0" id="0" '
                f'package={quoteattr(case.folder)}' + (' skipped="1"' if case.skipped else "")
                + f' time="{_seconds(case.minutes)}" timestamp="{START.strftime("%Y-%m-%dT%H:%M:%SZ")}">')  # fmt: skip
        props = f'    <properties>\n      <property name="namespace" value={quoteattr(case.namespace)}></property>\n    </properties>'
        suites.append("\n".join([head, props, *cases_xml, "  </testsuite>"]))
    return _root(name, cases, suites, total)


def junit_step(cases: list[Case], name: str = "chainsaw-report") -> bytes:
    def rows(case: Case):
        if case.skipped:
            yield _testcase(case.name, case.name, case.minutes, None, True, "    ")
            return
        for step in case.steps:
            error = "; ".join(o.error for o in step.operations if o.error) or None
            yield _testcase(step.name, case.name, 1, error, False, "    ")

    return _per_test(cases, name, rows)


def junit_operation(cases: list[Case], name: str = "chainsaw-report") -> bytes:
    def rows(case: Case):
        if case.skipped:
            yield _testcase(case.name, "", case.minutes, None, True, "    ")
            return
        for step in case.steps:
            for op in step.operations:
                yield _testcase(f"{step.name} / {op.name}", op.type, 0.5, op.error, False, "    ")

    return _per_test(cases, name, rows)


WRITERS = {
    "JSON": json_report, "XML": xml_report, "JUNIT-TEST": junit_test, "JUNIT-STEP": junit_step,
    "JUNIT-OPERATION": junit_operation,
}  # fmt: skip
