"""Chainsaw reports sent from CI: one row per upload, one per test in it, and the modules each test covers.

A report belongs to one repository (``RepositoryScoped``); its tests and their
module links hang off it and go with it (``ON DELETE CASCADE``). A test with no
module link is unmatched; while ``Report.scan_id`` is None the report waits for
a scan of its commit and no test of it is linked yet.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import UniqueConstraint, delete, text
from sqlmodel import Field, Session, select

from app.store.db import insert_many
from app.store.scope import RepositoryScoped, Table

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Report(RepositoryScoped, table=True):
    __table_args__ = (UniqueConstraint("repository", "content_hash", name="uq_report_repository_content_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    content_hash: str  # sha256 of the body as sent: the same report twice is stored once
    format: str  # JSON, XML, JUNIT-TEST, JUNIT-STEP, JUNIT-OPERATION
    name: str | None = None  # chainsaw's --report-name
    commit_sha: str = Field(index=True)
    branch: str | None = None
    run_url: str | None = None
    suite: str | None = None  # the test folder given with the upload, when the report names none
    received_at: datetime = Field(default_factory=utcnow, index=True)
    started_at: datetime | None = None  # when chainsaw started, when the report says
    size: int  # bytes
    tests: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    scan_id: int | None = None  # the scan its tests were matched against; None: its commit is not scanned yet


class ReportTest(Table, table=True):
    __tablename__ = "report_test"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True, ondelete="CASCADE")
    position: int  # its place in the report
    name: str
    folder: str  # the test's folder in the repository ("" when neither the report nor the upload names one)
    namespace: str | None = None
    concurrent: bool | None = None
    status: str  # passed, failed, skipped
    duration: float | None = None  # seconds
    started_at: datetime | None = None
    failed_step: str | None = None
    failed_operation: str | None = None
    operation_type: str | None = None  # apply, assert, error, script, ...
    error: str | None = None


class ReportTestModule(Table, table=True):
    __tablename__ = "report_test_module"

    test_id: int = Field(foreign_key="report_test.id", primary_key=True, ondelete="CASCADE")
    module_path: str = Field(primary_key=True, index=True)


# -- writes -------------------------------------------------------------------------


def report_by_hash(session: Session, content_hash: str) -> Report | None:
    return session.exec(select(Report).where(Report.content_hash == content_hash)).first()


def store_tests(session: Session, report: Report, tests: list[dict], modules: list[list[str]]) -> None:
    """Insert ``report``'s tests (column dicts, in report order) and each one's modules.

    One executemany, the ids read back in one query: a CI run may report thousands of
    tests, and the ORM's bulk insert with RETURNING costs ten times more.
    """
    if not tests:
        return
    connection = session.connection()
    keys = ["report_id", "position", *tests[0]]
    insert_many(connection, ReportTest.__table__, keys, [(report.id, n, *test.values()) for n, test in enumerate(tests)])
    ids = select(ReportTest.id, ReportTest.position).where(ReportTest.report_id == report.id)
    link_tests(session, [(test_id, modules[position]) for test_id, position in connection.execute(ids)])


def link_tests(session: Session, links: list[tuple[int, list[str]]]) -> None:
    rows = [(test_id, path) for test_id, paths in links for path in paths]
    if rows:
        insert_many(session.connection(), ReportTestModule.__table__, ["test_id", "module_path"], rows)


def waiting_reports(session: Session, commit_sha: str) -> list[Report]:
    """Reports of ``commit_sha`` not yet matched against a scan."""
    query = select(Report).where(Report.scan_id.is_(None), Report.commit_sha == commit_sha).order_by(Report.id)
    return list(session.exec(query))


def report_tests(session: Session, report_id: int) -> list[ReportTest]:
    return list(session.exec(select(ReportTest).where(ReportTest.report_id == report_id).order_by(ReportTest.position)))


def prune_reports(session: Session, before: datetime) -> int:
    """Forget this repository's reports received before ``before``; their tests go with them."""
    old = list(session.exec(select(Report.id).where(Report.received_at < before)))
    for chunk in range(0, len(old), 500):  # ids in batches: a bind list has limits
        ids = old[chunk : chunk + 500]
        # the cascade by hand too: SQLite enforces foreign keys only when the connection asked for it
        tests = select(ReportTest.id).where(ReportTest.report_id.in_(ids))
        session.execute(delete(ReportTestModule).where(ReportTestModule.test_id.in_(tests)))
        session.execute(delete(ReportTest).where(ReportTest.report_id.in_(ids)))
        session.execute(delete(Report).where(Report.id.in_(ids)))
    return len(old)


# -- reads ----------------------------------------------------------------------------

_RUNS = """
WITH runs AS (
  SELECT l.module_path AS path, t.report_id AS report_id,
         MAX(CASE t.status WHEN 'failed' THEN 2 WHEN 'passed' THEN 1 ELSE 0 END) AS outcome,
         SUM(t.duration) AS duration, COUNT(*) AS tests
  FROM report_test_module l JOIN report_test t ON t.id = l.test_id JOIN report r ON r.id = t.report_id
  WHERE r.repository = :repository{one}
  GROUP BY l.module_path, t.report_id
), numbered AS (
  SELECT runs.*, r.commit_sha, r.branch, r.run_url, r.format, COALESCE(r.started_at, r.received_at) AS at,
         ROW_NUMBER() OVER (PARTITION BY runs.path ORDER BY COALESCE(r.started_at, r.received_at) DESC, r.id DESC) AS n
  FROM runs JOIN report r ON r.id = runs.report_id
)
SELECT path, report_id, outcome, duration, tests, commit_sha, branch, run_url, format, at FROM numbered
WHERE n <= :limit ORDER BY path, n
"""
_EVERY_MODULES_RUNS = text(_RUNS.format(one=""))
_ONE_MODULES_RUNS = text(_RUNS.format(one=" AND l.module_path = :path"))  # a module page: its own runs alone
OUTCOMES = {2: FAILED, 1: PASSED, 0: SKIPPED}


def module_runs(session: Session, repository: str, limit: int = 20, path: str | None = None) -> dict[str, list[dict]]:
    """Every module's last ``limit`` runs (or the module at ``path``'s alone), newest first: one per
    report that tested it (failed when any of its tests there failed, else passed when any passed,
    else skipped)."""
    query, params = _EVERY_MODULES_RUNS, {"repository": repository, "limit": limit}
    if path is not None:
        query, params = _ONE_MODULES_RUNS, params | {"path": path}
    runs: dict[str, list[dict]] = {}
    for row in session.connection().execute(query, params).mappings():
        run = dict(row)
        run["status"] = OUTCOMES[run.pop("outcome")]
        run["at"] = _aware(run["at"])
        runs.setdefault(run.pop("path"), []).append(run)
    return runs


def module_tests(session: Session, report_id: int, module_path: str) -> list[ReportTest]:
    """The tests of one report that cover ``module_path``, failed ones first."""
    query = (
        select(ReportTest)
        .join(ReportTestModule, ReportTestModule.test_id == ReportTest.id)
        .where(ReportTest.report_id == report_id, ReportTestModule.module_path == module_path)
        .order_by(ReportTest.position)
    )
    return sorted(session.exec(query), key=lambda t: t.status != FAILED)


def unmatched_tests(session: Session, limit: int = 50, report_id: int | None = None) -> list[tuple[Report, ReportTest]]:
    """Tests of matched reports (or of one) that cover no module, newest report first."""
    query = (
        select(Report, ReportTest)
        .join(ReportTest, ReportTest.report_id == Report.id)
        .outerjoin(ReportTestModule, ReportTestModule.test_id == ReportTest.id)
        .where(Report.scan_id.is_not(None), ReportTestModule.test_id.is_(None))
        .order_by(Report.id.desc(), ReportTest.position)
        .limit(limit)
    )
    if report_id is not None:
        query = query.where(Report.id == report_id)
    return [(report, test) for report, test in session.exec(query)]


def _aware(value):
    """A timestamp read by plain SQL: SQLite gives text, PostgreSQL a datetime; both come back in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def recent_reports(session: Session, limit: int = 50) -> list[Report]:
    return list(session.exec(select(Report).order_by(Report.id.desc()).limit(limit)))
