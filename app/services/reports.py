"""Chainsaw reports from CI, end to end: take one in, tie its tests to modules, say how each module fares.

- ``ingest_report``: refuse what cannot be read (too large, malformed, unsafe
  XML, unknown commit) before anything is written; store a report once
  (idempotent by content hash); match its tests through the scan of its commit.
- ``join_reports``: a report that came before its commit was scanned is matched
  when that scan is stored (``scan_and_store`` calls it).
- ``module_tests`` / ``results_overview``: the last result per module, the last
  runs, flakiness; what the pages, ``/api/status``, the badge and
  ``sawmill scan --require-passing`` all read. The last result is the newest
  run on the default branch (or sent without a branch): a pull request's red
  run does not turn a module red on the board; with no such run among the
  last ones (CI that runs on pull requests only), the newest run anywhere.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.reports import FAILED, PASSED, Outcome, ParsedReport, ReportError, TestIndex, match_tests, parse_report
from app.store.errors import Conflict, Invalid, StoreError
from app.store.reports import (
    Report, ReportTest, link_tests, module_runs, module_tests as module_tests_of, prune_reports, report_by_hash, report_tests, store_tests,
    unmatched_tests, utcnow, waiting_reports,
)  # fmt: skip
from app.store.history import history_state
from app.store.scans import ModuleResult, Scan
from app.store.scope import repository_of

RUNS_SHOWN = 20  # the strip of last runs on a module's page
MAX_ERROR = 20_000  # characters of one error kept: enough for any real message, not a log dump
_SHA = re.compile(r"[0-9a-fA-F]{7,64}")
_URL = re.compile(r"https?://[^\s<>\"]+")


class ReportRefused(StoreError):
    """A report Sawmill cannot take; ``status`` 413 when too large, 422 otherwise."""

    def __init__(self, message: str, status: int = 422, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


@dataclass
class Ingested:
    report: Report
    created: bool  # False: the same report was stored before, nothing new was written
    waiting: bool  # True: its commit is not scanned yet; its tests are matched once it is
    unmatched: list[tuple[str, str]]  # (name, folder) of the tests that cover no module of that scan


@dataclass(frozen=True)
class Upload:
    """What came with a report besides its bytes (the API's query, the CLI's options)."""

    commit: str
    branch: str | None = None
    run_url: str | None = None
    suite: str | None = None


def ingest_report(
    session: Session, data: bytes, upload: Upload, git_dir: Path | None = None, retention_days: int = 180
) -> Ingested:
    """Store ``data`` as a report of ``upload.commit`` in the session's repository.

    ``git_dir`` is Sawmill's copy of the repository (None: none to read), used to
    refuse a commit it does not hold and to complete an abbreviated sha. Raises
    ``ReportRefused`` or ``Invalid``; nothing is written then.
    """
    _check(upload)
    parsed = read(data)
    content_hash = hashlib.sha256(data).hexdigest()
    scan = scan_of(session, upload.commit.strip().lower())  # a scanned commit is known: no need to ask git
    commit = scan.commit_sha if scan else resolve_commit(upload.commit, git_dir, repository_of(session))
    if (known := report_by_hash(session, content_hash)) is not None:
        return _again(session, known, commit)
    prune_reports(session, utcnow() - timedelta(days=retention_days))
    report = Report(
        content_hash=content_hash, format=parsed.format, name=_text(parsed.name), commit_sha=commit, branch=_text(upload.branch),
        run_url=upload.run_url, suite=_text(upload.suite), started_at=parsed.started_at, size=len(data), tests=len(parsed.tests),
        passed=parsed.count(PASSED), failed=parsed.count(FAILED), skipped=len(parsed.tests) - parsed.count(PASSED) - parsed.count(FAILED),
    )  # fmt: skip
    try:
        with session.begin_nested():  # another upload of the same bytes may win the race: then that one stands
            session.add(report)
            session.flush()
    except IntegrityError:
        return _again(session, report_by_hash(session, content_hash), commit)
    scan = scan or scan_of(session, commit)
    modules = match_tests(parsed.tests, index_of(session, scan), upload.suite) if scan else [[] for _ in parsed.tests]
    report.scan_id = scan.id if scan else None
    # NUL and lone surrogates, which no database text can hold, are replaced. A parser lets them
    # through as JSON escapes ("\ud800") or, in JSON, as the raw bytes of one (json reads bytes with
    # "surrogatepass"); a report with none of these is stored as it is, without a pass over its text
    unstorable = b"\x00" in data or b"\\u" in data or (b"\xed" in data and _SURROGATE_BYTES.search(data) is not None)
    store_tests(session, report, [_columns(test, unstorable) for test in parsed.tests], modules)
    unmatched = [(t.name, t.folder) for t, m in zip(parsed.tests, modules, strict=True) if not m] if scan else []
    return Ingested(report, True, scan is None, unmatched)


def _again(session: Session, known: Report, commit: str) -> Ingested:
    """The same bytes sent again: a retried upload of the same commit's run is answered as the
    first one was; the same run sent for another commit is refused (a run tests one commit)."""
    if known.commit_sha != commit:
        raise Conflict(
            f"this report is already stored as report #{known.id}, for commit {known.commit_sha[:12]}: "
            f"the same run cannot be a run of {commit[:12]} too"
        )
    return Ingested(known, False, known.scan_id is None, unmatched_of(session, known))


def read(data: bytes) -> ParsedReport:
    try:
        return parse_report(data)
    except ReportError as exc:
        raise ReportRefused(exc.message, 413 if exc.kind == "too_large" else 422) from None


def _check(upload: Upload) -> None:
    if not _SHA.fullmatch(upload.commit.strip()):
        raise Invalid(f"commit must be a commit sha (7 to 64 hex digits), not {upload.commit.strip()[:80]!r}", "commit")
    if upload.branch is not None and (len(upload.branch) > 250 or "\x00" in upload.branch):
        raise Invalid("branch must be a branch name (at most 250 characters)", "branch")
    if upload.run_url is not None and (len(upload.run_url) > 2000 or "\x00" in upload.run_url or not _URL.fullmatch(upload.run_url)):
        raise Invalid("run_url must be an http(s) address (the CI run)", "run_url")
    if upload.suite is not None and (len(upload.suite) > 500 or "\x00" in upload.suite):
        raise Invalid("suite must be a test folder of the repository", "suite")


def resolve_commit(commit: str, git_dir: Path | None, repository: str) -> str:
    """The full sha of ``commit``; Invalid when it is not a sha or the repository does not hold it."""
    commit = commit.strip()
    if not _SHA.fullmatch(commit):
        raise Invalid(f"commit must be a commit sha (7 to 64 hex digits), not {commit[:80]!r}", "commit")
    if git_dir is None or not Path(git_dir).exists():
        if len(commit) not in (40, 64):
            raise Invalid(f"commit {commit} is abbreviated and Sawmill has no copy of the repository to complete it: send the full sha", "commit")
        return commit.lower()
    from app.scanner import GitSource, ScanError

    try:
        with GitSource(git_dir) as source:
            return source.resolve(commit).sha
    except ScanError:
        raise Invalid(
            f"unknown commit {commit}: {repository or 'the repository'} does not hold it "
            "(push it first; a repository tracked by URL is fetched on push webhooks and on its timer)",
            "commit",
        ) from None


def scan_of(session: Session, commit: str) -> Scan | None:
    """The newest scan of ``commit`` in the session's repository."""
    return session.exec(select(Scan).where(Scan.commit_sha == commit).order_by(Scan.id.desc()).limit(1)).first()


def index_of(session: Session, scan: Scan) -> TestIndex:
    rows = session.exec(select(ModuleResult.path, ModuleResult.evidence).where(ModuleResult.scan_id == scan.id))
    return TestIndex.of((path, evidence.get("chainsaw", [])) for path, evidence in rows)


def join_reports(session: Session, scan: Scan) -> int:
    """Match the reports that waited for ``scan``'s commit; how many there were."""
    waiting = waiting_reports(session, scan.commit_sha)
    if waiting:
        index = index_of(session, scan)
        for report in waiting:
            tests = report_tests(session, report.id)
            outcomes = [Outcome(name=t.name, folder=t.folder, status=t.status) for t in tests]
            matched = match_tests(outcomes, index, report.suite)
            link_tests(session, [(test.id, modules) for test, modules in zip(tests, matched, strict=True)])
            report.scan_id = scan.id
            session.add(report)
        session.flush()
    return len(waiting)


_SURROGATE_BYTES = re.compile(rb"\xed[\xa0-\xbf]")  # how UTF-8 with surrogatepass writes U+D800 to U+DFFF
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL (PostgreSQL text) and lone surrogates (any UTF-8 text)


def _text(value: str | None) -> str | None:
    """``value`` with what no database text can hold replaced, as in the tests' columns."""
    return _UNSTORABLE.sub("\ufffd", value) if value else value


def _columns(test: Outcome, unstorable: bool = True) -> dict[str, Any]:
    error = test.error[:MAX_ERROR] + "…" if test.error and len(test.error) > MAX_ERROR else test.error
    values = {
        "name": test.name, "folder": test.folder, "namespace": test.namespace, "concurrent": test.concurrent,
        "status": test.status, "duration": test.duration, "started_at": test.started_at,
        "failed_step": test.failed_step, "failed_operation": test.failed_operation,
        "operation_type": test.operation_type, "error": error,
    }  # fmt: skip
    if not unstorable:
        return values
    return {k: _text(v) if isinstance(v, str) else v for k, v in values.items()}


def unmatched_of(session: Session, report: Report) -> list[tuple[str, str]]:
    """(name, folder) of the tests of ``report`` that cover no module."""
    return [(t.name, t.folder) for _, t in unmatched_tests(session, limit=100_000, report_id=report.id)]


# -- what a module's tests say ---------------------------------------------------------


@dataclass
class ModuleTests:
    """A module's chainsaw results from CI: its last runs, newest first (see ``store.reports.module_runs``)."""

    runs: list[dict]
    branch: str | None = None  # the repository's default branch, when known

    @property
    def last(self) -> dict | None:
        """The newest run on the default branch (see the module's docstring), else the newest."""
        if not self.runs:
            return None
        return next((run for run in self.runs if _on_default(run["branch"], self.branch)), self.runs[0])

    @property
    def status(self) -> str | None:
        """passed, failed, skipped; None when no report ever tested it."""
        return self.last["status"] if self.last else None

    @property
    def flaky_commits(self) -> list[str]:
        """Commits on which it both passed and failed (among the runs kept)."""
        seen: dict[str, set[str]] = {}
        for run in self.runs:
            seen.setdefault(run["commit_sha"], set()).add(run["status"])
        return sorted(commit for commit, statuses in seen.items() if {PASSED, FAILED} <= statuses)

    @property
    def flaky(self) -> bool:
        return bool(self.flaky_commits)


def _on_default(branch: str | None, default: str | None) -> bool:
    if branch is None or default is None:  # a report sent without a branch counts as the default branch's
        return True
    return branch.removeprefix("refs/heads/") == default.removeprefix("refs/heads/")


def all_module_tests(session: Session, limit: int = RUNS_SHOWN, path: str | None = None) -> dict[str, ModuleTests]:
    """Every tested module's results in the session's repository (module path -> results),
    or the module at ``path``'s alone."""
    repository = repository_of(session)
    state = history_state(session, repository)
    default = state.branch if state else None
    found = module_runs(session, repository, limit, path)
    return {module: ModuleTests(runs, default) for module, runs in found.items()}


def module_tests(session: Session, path: str, results: dict[str, ModuleTests] | None = None) -> dict[str, Any]:
    """One module's section of its page and API answer: the last run in detail, the strip, the flag.
    ``results``: every module's, when the caller has them; else only this module's are read."""
    tests = (results if results is not None else all_module_tests(session, path=path)).get(path, ModuleTests([]))
    last = tests.last
    detail = [_test_view(t) for t in module_tests_of(session, last["report_id"], path)] if last else []
    return {
        "status": tests.status,
        "last": {**last, "details": detail} if last else None,
        "failure": next((t for t in detail if t["status"] == FAILED), None),
        "runs": tests.runs,
        "flaky": tests.flaky,
        "flaky_commits": tests.flaky_commits,
    }


def results_overview(session: Session, modules: list[ModuleResult], results: dict[str, ModuleTests] | None = None) -> dict[str, Any]:
    """For the overview, the board, /api/status and the badge: the migrated modules' last results."""
    results = results if results is not None else all_module_tests(session)
    migrated = [m.path for m in modules if m.status == "migrated"]
    last = {path: results[path].status for path in results}
    passing = [p for p in migrated if last.get(p) == PASSED]
    failing = [p for p in migrated if last.get(p) == FAILED]
    return {
        "migrated": len(migrated),
        "passing": len(passing),
        "failing": failing,
        "not_run": [p for p in migrated if last.get(p) not in (PASSED, FAILED)],
        "flaky": sorted(p for p, r in results.items() if r.flaky),
        "results": {m.path: last[m.path] for m in modules if m.path in last},
        "percent": round(100 * len(passing) / len(migrated)) if migrated else 0,
        "reported": bool(results),
    }


def not_passing(session: Session, modules: list[ModuleResult]) -> list[tuple[str, str]]:
    """Migrated modules whose last result is not a pass: (path, "failed" or "never ran" or "skipped")."""
    results = all_module_tests(session)
    found = []
    for module in modules:
        if module.status == "migrated" and (status := results.get(module.path, ModuleTests([])).status) != PASSED:
            found.append((module.path, status or "never ran"))
    return found


def _test_view(test: ReportTest) -> dict[str, Any]:
    return {
        "name": test.name, "folder": test.folder, "status": test.status, "duration": test.duration,
        "namespace": test.namespace, "failed_step": test.failed_step, "failed_operation": test.failed_operation,
        "operation_type": test.operation_type, "error": test.error,
    }  # fmt: skip
