"""Chainsaw reports from CI: ``POST /api/reports`` takes one in (the ``tests`` badge, with the others
in ``app.web.api``, says how they went).

The body is the report file as chainsaw wrote it (JSON or XML; the format is
told by the content), read in chunks and refused past 10 MiB, so a huge body
costs no memory. Everything is checked before anything is stored: a refused
report leaves no trace. The same report sent twice is stored once: the second
answer is the first report, with ``created`` false (201 both times, so a
retrying CI job sees one answer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from app.config import Settings
from app.reports import MAX_BYTES
from app.web.api import READ_ERRORS, ErrorOut, error_responses
from app.web.auth import ReaderDep, WriterDep
from app.web.deps import SessionDep, SettingsDep
from app.web.edge import read_capped
from app.web.report_models import ReportOut

router = APIRouter(prefix="/api", tags=["reports"])

TYPES = ("application/json", "application/xml", "text/xml", "application/octet-stream")
_REFUSED = {
    409: {"model": ErrorOut, "description": "the same report was already sent for another commit"},
    413: {"model": ErrorOut, "description": "the report is over 10 MiB"},
    415: {"model": ErrorOut, "description": "a Content-Type other than JSON, XML or octet-stream, or a compressed body"},
    422: {"model": ErrorOut, "description": "malformed or unsafe report, bad query parameter, or a commit the repository does not hold"},
}


@router.post(
    "/reports",
    response_model=ReportOut,
    status_code=201,
    responses={**error_responses(401, 403), **_REFUSED},
    summary="Send a chainsaw report from CI",
    openapi_extra={"requestBody": {"required": True, "description": "the report file as chainsaw wrote it, at most 10 MiB",
                                   "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in TYPES}}},  # fmt: skip
)
async def upload_report(
    request: Request,
    who: WriterDep,
    settings: SettingsDep,
    commit: Annotated[str, Query(min_length=1, max_length=100, description="the commit CI tested (sha)")],
    branch: Annotated[str | None, Query(max_length=250, description="the branch CI ran on")] = None,
    run_url: Annotated[str | None, Query(max_length=2000, description="the CI run, linked from the pages")] = None,
    suite: Annotated[str | None, Query(max_length=500, description="the test folder, when the report does not name it")] = None,
) -> Response:
    """Store a report (``chainsaw test --report-format JSON|XML|JUNIT-TEST|JUNIT-STEP|JUNIT-OPERATION``)
    of ``commit``; its tests are tied to the modules the scan of that commit found them covering."""
    _check_type(request)
    data = await read_capped(request, MAX_BYTES, f"the report is over the {MAX_BYTES // 2**20} MiB allowed")
    from app.services.reports import Upload

    upload = Upload(commit=commit, branch=branch or None, run_url=run_url or None, suite=suite or None)
    done = await run_in_threadpool(_ingest, settings, request.app.state.repository, data, upload)
    return JSONResponse(done, status_code=201)


def _check_type(request: Request) -> None:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in TYPES:
        shown = kind or "none"
        raise HTTPException(415, f"Content-Type {shown} is not a report: send application/json or application/xml")
    if request.headers.get("content-encoding", "identity").lower() != "identity":
        raise HTTPException(415, "send the report uncompressed (no Content-Encoding)")


def _ingest(settings: Settings, repository: str | None, data: bytes, upload) -> dict[str, Any]:
    from app.services.reports import ingest_report
    from app.store.db import session_scope

    with session_scope(settings.database_url, repository) as session:
        done = ingest_report(session, data, upload, git_dir(settings), settings.report_retention_days)
        return report_out(done.report, created=done.created, waiting=done.waiting, unmatched=done.unmatched)


def git_dir(settings: Settings) -> Path | None:
    """Sawmill's copy of the tracked repository (the repository itself, or its mirror), if any."""
    from app.services.repos import tracked

    return tracked(settings.repo).local(settings.data_dir) if settings.repo else None


def report_out(report, unmatched: list[tuple[str, str]], **extra: Any) -> dict[str, Any]:
    out = ReportOut(
        unmatched=len(unmatched), unmatched_tests=[{"name": name, "folder": folder} for name, folder in unmatched],
        id=report.id, format=report.format, name=report.name, commit=report.commit_sha, branch=report.branch,
        run_url=report.run_url, suite=report.suite, received_at=report.received_at, size=report.size,
        tests=report.tests, passed=report.passed, failed=report.failed, skipped=report.skipped, **extra,
    )  # fmt: skip
    return out.model_dump(mode="json")


@router.get("/reports", response_model=list[ReportOut], responses=READ_ERRORS, summary="The reports received last")
def recent_reports(
    session: SessionDep, viewer: ReaderDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[dict[str, Any]]:
    from app.services.reports import unmatched_of
    from app.store.reports import recent_reports as recent

    return [
        report_out(r, created=True, waiting=r.scan_id is None, unmatched=unmatched_of(session, r))
        for r in recent(session, limit)
    ]
