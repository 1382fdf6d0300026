"""Tests tied to modules through the scan: folders as chainsaw saw them, the suite given,
tests that cover nothing, and reports that came before their commit was scanned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import select

from app.config import Settings
from app.services import scan_and_store
from app.services.reports import Upload, all_module_tests, ingest_report
from app.store.db import session_scope
from app.store.reports import Report, ReportTest, ReportTestModule, unmatched_tests, utcnow

from .conftest import CORE, EXTRA, NETWORKING, STORAGE, STORAGE_CORE
from .samples import WRITERS, Case, failing, passing


def results_of(db_url: str, platform) -> dict[str, str]:
    with session_scope(db_url, platform.key) as session:
        return {path: results.status for path, results in all_module_tests(session).items()}


def test_a_folder_seen_from_elsewhere_still_matches(ingest, db_url, platform) -> None:
    cases = [
        passing(f"/home/runner/work/platform/platform/{NETWORKING}", "infra-networking"),  # absolute, in CI
        failing("infra-storage", "infra-storage", "timeout"),  # chainsaw run from ci/test
    ]
    assert ingest(WRITERS["JSON"](cases)).unmatched == []
    assert results_of(db_url, platform) == {CORE: "passed", EXTRA: "passed", STORAGE_CORE: "failed"}


def test_the_suite_given_stands_for_a_folder_the_report_does_not_match(ingest, db_url, platform) -> None:
    done = ingest(WRITERS["JUNIT-STEP"]([passing("/tmp/copied-tests/x", "infra-storage")]), suite=STORAGE)
    assert done.unmatched == [] and results_of(db_url, platform) == {STORAGE_CORE: "passed"}


def test_a_test_that_covers_nothing_is_kept_and_shown_as_unmatched(ingest, db_url, platform) -> None:
    cases = [passing(NETWORKING, "infra-networking"), failing("ci/test/apps-media", "apps-media", "boom")]
    done = ingest(WRITERS["JUNIT-OPERATION"](cases))
    assert done.unmatched == [("apps-media", "ci/test/apps-media")]
    with session_scope(db_url, platform.key) as session:
        kept = unmatched_tests(session)
        assert [(test.name, test.status, test.error) for _, test in kept] == [("apps-media", "failed", "boom")]
        assert len(session.exec(select(ReportTest)).all()) == 2
    assert results_of(db_url, platform) == {CORE: "passed", EXTRA: "passed"}


def test_a_report_of_a_commit_not_scanned_yet_waits_and_is_joined_by_its_scan(ingest, db_url, platform) -> None:
    done = ingest(WRITERS["JSON"]([failing(NETWORKING, "infra-networking", "not ready")]), commit=platform.second)
    assert done.created and done.waiting and done.report.scan_id is None
    assert results_of(db_url, platform) == {}  # kept, but tied to nothing yet
    with session_scope(db_url, platform.key) as session:
        assert len(session.exec(select(ReportTest)).all()) == 1
        assert session.exec(select(ReportTestModule)).all() == []

    scan, _ = scan_and_store(db_url, platform.path, ref=platform.second)

    with session_scope(db_url, platform.key) as session:
        assert session.exec(select(Report)).one().scan_id == scan.id
    assert results_of(db_url, platform) == {CORE: "failed", EXTRA: "failed"}


def test_reports_older_than_the_retention_are_forgotten(ingest, db_url, platform) -> None:
    old = ingest(WRITERS["JSON"]([passing(NETWORKING, "infra-networking")]))
    with session_scope(db_url, platform.key) as session:
        report = session.get(Report, old.report.id)
        report.received_at = utcnow() - timedelta(days=181)
        session.add(report)
    recent = ingest(WRITERS["JSON"]([passing(STORAGE, "infra-storage")]))
    with session_scope(db_url, platform.key) as session:
        assert [r.id for r in session.exec(select(Report))] == [recent.report.id]
        assert [t.name for t in session.exec(select(ReportTest))] == ["infra-storage"]
        assert len(session.exec(select(ReportTestModule)).all()) == 1
    assert results_of(db_url, platform) == {STORAGE_CORE: "passed"}


def test_the_retention_is_a_setting(db_url, platform) -> None:
    with session_scope(db_url, platform.key) as session:
        ingest_report(session, WRITERS["JSON"]([passing(NETWORKING, "a")]), Upload(platform.first), platform.path)
        session.exec(select(Report)).one().received_at = utcnow() - timedelta(days=8)
    with session_scope(db_url, platform.key) as session:
        ingest_report(session, WRITERS["JSON"]([passing(NETWORKING, "b")]), Upload(platform.first), platform.path, retention_days=7)
        assert [r.tests for r in session.exec(select(Report))] == [1]
        assert [t.name for t in session.exec(select(ReportTest))] == ["b"]


def test_skipped_only_is_not_a_pass(ingest, db_url, platform) -> None:
    ingest(WRITERS["JUNIT-TEST"]([Case(STORAGE, "infra-storage", skipped=True)]))
    assert results_of(db_url, platform) == {STORAGE_CORE: "skipped"}


def test_the_retention_comes_from_the_environment_and_keeps_at_least_a_day(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().report_retention_days == 180
    monkeypatch.setenv("SAWMILL_REPORT_RETENTION_DAYS", "30")
    assert Settings().report_retention_days == 30
    monkeypatch.setenv("SAWMILL_REPORT_RETENTION_DAYS", "0")
    with pytest.raises(ValidationError, match="SAWMILL_REPORT_RETENTION_DAYS"):
        Settings()
