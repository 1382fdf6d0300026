"""Reports in every chainsaw format, tied to the modules of a scanned repository."""

from __future__ import annotations

import pytest

from app.services.reports import all_module_tests, module_tests, results_overview
from app.store.db import session_scope
from app.store.reports import Report, ReportTest
from app.store.scans import latest_scan, scan_modules
from sqlmodel import select

from .conftest import CORE, EXTRA, NETWORKING, STORAGE, STORAGE_CORE
from .samples import WRITERS, Case, failing, passing

ERROR = "v1/Deployment/traefik/traefik: .status.readyReplicas: Invalid value: 0: Expected value: 1"


def three_tests() -> list[Case]:
    """Several tests: one failing with an error, one skipped (and concurrent), one outside any module."""
    return [
        failing(NETWORKING, "infra-networking", ERROR),
        Case(STORAGE, "infra-storage", skipped=True, concurrent=True),
        passing("ci/test/apps-media", "apps-media"),
    ]


@pytest.mark.parametrize("kind", list(WRITERS))
def test_every_format_is_read_and_tied_to_its_modules(kind: str, ingest, db_url: str, platform) -> None:
    done = ingest(WRITERS[kind](three_tests()))
    assert done.created and not done.waiting
    assert done.report.format == kind
    assert (done.report.tests, done.report.passed, done.report.failed, done.report.skipped) == (3, 1, 1, 1)
    assert done.unmatched == [("apps-media", "ci/test/apps-media")]  # a legacy suite: no chainsaw test covers it
    with session_scope(db_url, platform.key) as session:
        results = all_module_tests(session)
        assert {p: r.status for p, r in results.items()} == {CORE: "failed", EXTRA: "failed", STORAGE_CORE: "skipped"}
        failure = module_tests(session, CORE)["failure"]
    assert failure["error"] == ERROR
    if kind in ("JSON", "JUNIT-STEP", "JUNIT-OPERATION"):  # the formats that name the step
        assert failure["failed_step"] == "Validate networking-core"
    if kind in ("JSON", "JUNIT-OPERATION"):  # and the operation
        assert (failure["failed_operation"], failure["operation_type"]) == ("assert-2", "assert")


def test_a_passing_run_after_a_failing_one_is_the_last_result(ingest, db_url: str, platform) -> None:
    ingest(WRITERS["JSON"]([failing(NETWORKING, "infra-networking", ERROR)]))
    ingest(WRITERS["JUNIT-TEST"]([passing(NETWORKING, "infra-networking")]), branch="main", run_url="https://ci.example/run/2")
    with session_scope(db_url, platform.key) as session:
        tests = module_tests(session, CORE)
        modules = scan_modules(session, latest_scan(session).id)
        overview = results_overview(session, modules)
    assert tests["status"] == "passed" and tests["failure"] is None
    assert [r["status"] for r in tests["runs"]] == ["passed", "failed"]
    assert tests["last"]["run_url"] == "https://ci.example/run/2" and tests["last"]["branch"] == "main"
    assert tests["flaky"] and tests["flaky_commits"] == [platform.first]  # passed and failed on one commit
    assert overview["passing"] == 2 and overview["failing"] == [] and overview["not_run"] == [STORAGE_CORE]


def test_a_pull_requests_red_run_does_not_turn_the_module_red(ingest, db_url: str, platform) -> None:
    from app.store.history import history_state

    with session_scope(db_url, platform.key) as session:
        default = history_state(session, platform.key).branch
    ingest(WRITERS["JSON"]([passing(NETWORKING, "infra-networking")]), branch=f"refs/heads/{default}")
    ingest(WRITERS["JUNIT-TEST"]([failing(NETWORKING, "infra-networking", ERROR)]), branch="feature/tune",
           run_url="https://ci.example/run/pr")  # fmt: skip
    with session_scope(db_url, platform.key) as session:
        tests = module_tests(session, CORE)
        overview = results_overview(session, scan_modules(session, latest_scan(session).id))
    assert [r["branch"] for r in tests["runs"]] == ["feature/tune", f"refs/heads/{default}"]  # the strip has both
    assert tests["status"] == "passed" and tests["last"]["branch"] == f"refs/heads/{default}"
    assert overview["failing"] == [] and overview["passing"] == 2


def test_with_runs_on_pull_requests_only_the_newest_is_the_last_result(ingest, db_url: str, platform) -> None:
    ingest(WRITERS["JSON"]([passing(NETWORKING, "infra-networking")]), branch="feature/one")
    ingest(WRITERS["JUNIT-TEST"]([failing(NETWORKING, "infra-networking", ERROR)]), branch="feature/two")
    with session_scope(db_url, platform.key) as session:
        tests = module_tests(session, CORE)
    assert tests["status"] == "failed" and tests["last"]["branch"] == "feature/two"


def test_the_same_report_twice_is_stored_once(ingest, db_url: str, platform) -> None:
    data = WRITERS["JUNIT-OPERATION"](three_tests())
    first, again = ingest(data), ingest(data, branch="other")
    assert first.created and not again.created and again.report.id == first.report.id
    with session_scope(db_url, platform.key) as session:
        assert len(session.exec(select(Report)).all()) == 1
        assert len(session.exec(select(ReportTest)).all()) == 3


def test_text_no_database_can_hold_is_replaced_not_refused(ingest, db_url: str, platform) -> None:
    """JSON escapes can spell NUL and lone surrogates, which neither database stores as text."""
    data = (
        b'{"name": "run \\ud800", "startTime": "2026-11-29T10:00:00Z", "tests": ['
        b'{"name": "\\udfff x\\u0000", "basePath": "' + NETWORKING.encode() + b'\\ud800", "namespace": "ns \\ud83d\\ude00"}]}'
    )
    done = ingest(data)
    assert done.created
    with session_scope(db_url, platform.key) as session:
        report = session.exec(select(Report)).one()
        test = session.exec(select(ReportTest)).one()
        assert report.name == "run \ufffd"
        assert (test.name, test.folder) == ("\ufffd x\ufffd", NETWORKING + "\ufffd")
        assert test.namespace == "ns \U0001f600"  # a whole pair is a character: kept


def test_the_raw_bytes_of_a_lone_surrogate_in_json_are_replaced_too(ingest, db_url: str, platform) -> None:
    """Python's json reads bytes with "surrogatepass": a lone surrogate written as raw bytes
    (ED A0 80) reaches the store as one, as an escape does. It used to fail the insert of the
    tests after the report's row was in (an error, then "already stored" with no tests)."""
    data = (
        b'{"startTime": "2026-11-29T10:00:00Z", "tests": [{"name": "x\xed\xa0\x80", "basePath": "'
        + NETWORKING.encode() + b'", "namespace": "\xed\x9f\xbf kept"}]}'
    )
    done = ingest(data)
    assert done.created
    with session_scope(db_url, platform.key) as session:
        test = session.exec(select(ReportTest)).one()
        assert (test.name, test.namespace) == ("x\ufffd", "\ud7ff kept")  # U+D7FF is no surrogate: kept


def test_a_concurrent_run_of_several_tests_keeps_each(ingest, db_url: str, platform) -> None:
    cases = [passing(NETWORKING, "infra-networking"), passing(STORAGE, "infra-storage")]
    for case in cases:
        case.concurrent = True
    ingest(WRITERS["JSON"](cases))
    with session_scope(db_url, platform.key) as session:
        tests = session.exec(select(ReportTest).order_by(ReportTest.position)).all()
        assert [(t.name, t.concurrent, t.status) for t in tests] == [
            ("infra-networking", True, "passed"), ("infra-storage", True, "passed"),
        ]  # fmt: skip
        assert {p: r.status for p, r in all_module_tests(session).items()} == {
            CORE: "passed", EXTRA: "passed", STORAGE_CORE: "passed",
        }  # fmt: skip


def test_a_module_page_reads_its_own_runs_alone_and_finds_what_the_board_finds(ingest, db_url: str, platform) -> None:
    ingest(WRITERS["JSON"](three_tests()))
    ingest(WRITERS["JUNIT-TEST"]([passing(NETWORKING, "infra-networking"), passing(STORAGE, "infra-storage")]))
    with session_scope(db_url, platform.key) as session:
        every = all_module_tests(session)
        alone = {path: module_tests(session, path) for path in [*every, "apps/subsystems/none"]}
        assert alone == {path: module_tests(session, path, every) for path in [*every, "apps/subsystems/none"]}
        assert set(every) == {CORE, EXTRA, STORAGE_CORE} and alone["apps/subsystems/none"]["runs"] == []
        assert set(all_module_tests(session, path=CORE)) == {CORE}
