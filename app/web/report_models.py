"""The JSON shapes of chainsaw results from CI, shared by ``/api/status``, ``/api/modules`` and ``/api/reports``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class RunOut(BaseModel):
    """One CI run (one report) as it concerns one module."""

    report_id: int
    status: str = Field(description="passed, failed or skipped: failed when any of its tests covering the module failed")
    commit: str
    branch: str | None
    run_url: str | None
    format: str = Field(description="JSON, XML, JUNIT-TEST, JUNIT-STEP or JUNIT-OPERATION")
    at: datetime = Field(description="when chainsaw ran (as the report says), else when Sawmill received it")
    duration: float | None = Field(description="seconds, summed over its tests covering the module")


class TestOut(BaseModel):
    __test__ = False  # not a pytest class

    name: str
    folder: str = Field(description="the test's folder as the report names it")
    status: str
    duration: float | None
    namespace: str | None
    failed_step: str | None
    failed_operation: str | None
    operation_type: str | None = Field(description="apply, assert, error, script, ...")
    error: str | None


class ModuleTestsOut(BaseModel):
    status: str | None = Field(description="the last run's result; null when no report ever tested the module")
    last: RunOut | None
    tests: list[TestOut] = Field(description="the last run's tests covering the module")
    failure: TestOut | None = Field(description="the first failed test of the last run, with its step, operation and error")
    runs: list[RunOut] = Field(description="the last 20 runs, newest first")
    flaky: bool = Field(description="passed and failed on one commit (among those runs)")
    flaky_commits: list[str]


class TestsOut(BaseModel):
    """The migrated modules' chainsaw results from CI."""

    __test__ = False

    migrated: int
    passing: int = Field(description="migrated modules whose last run passed")
    percent: int = Field(description="passing of migrated, in percent")
    failing: list[str] = Field(description="migrated modules whose last run failed")
    not_run: list[str] = Field(description="migrated modules no report tested, or whose last run skipped them")
    flaky: list[str] = Field(description="modules that passed and failed on one commit")
    results: dict[str, str] = Field(description="module path -> last result, for every module a report tested")
    reported: bool = Field(description="whether any report was received")


class UnmatchedOut(BaseModel):
    name: str
    folder: str


class ReportOut(BaseModel):
    id: int
    format: str
    name: str | None
    commit: str
    branch: str | None
    run_url: str | None
    suite: str | None
    received_at: datetime
    size: int
    tests: int
    passed: int
    failed: int
    skipped: int
    waiting: bool = Field(description="its commit is not scanned yet: its tests are tied to modules once it is")
    unmatched: int = Field(description="tests that cover no module of the scan: kept, listed in unmatched_tests")
    unmatched_tests: list[UnmatchedOut] = Field(description="those tests (none while the report waits for its scan)")
    created: bool = Field(description="false: the same report was received before, and is not stored twice")


def run_out(run: dict) -> RunOut:
    return RunOut(**{**run, "commit": run["commit_sha"]})


def module_tests_out(tests: dict) -> ModuleTestsOut:
    last = tests["last"]
    return ModuleTestsOut(
        status=tests["status"],
        last=run_out(last) if last else None,
        tests=[TestOut(**t) for t in (last or {}).get("details", [])],
        failure=TestOut(**tests["failure"]) if tests["failure"] else None,
        runs=[run_out(r) for r in tests["runs"]],
        flaky=tests["flaky"],
        flaky_commits=tests["flaky_commits"],
    )
