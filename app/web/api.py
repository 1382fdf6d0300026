"""The JSON API under ``/api``, and the badges.

Every route declares its response model, so ``/docs`` shows the real shapes.
Errors are answered by the app's one handler (``app.web.errors``) in one
fixed shape: ``{"error": {"status": int, "message": str, "field": str|null}}``.

``/api/status`` and the badges come from ``Snapshot``s held in memory and
rebuilt only when the store changes (see ``app.web.status_cache``); each
carries its JSON bytes and ETag ready-made, so a request costs no query and
no serialisation.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from app.scanner.model import Summary
from app.store import progress_read
from app.store.db import session_scope
from app.store.errors import NotFound
from app.store.history import open_regressions
from app.services.jobs import request_sync
from app.services.reports import module_tests, results_overview
from app.store.jobs import get_job, job_view
from app.store.scope import repository_of
from app.store.scans import ModuleResult, latest_scan, scan_modules
from app.web import badges
from app.web.auth import ReaderDep, WriterDep, reader
from app.web.deps import Id, SessionDep, SettingsDep
from app.web.parity import ParityOut, parity_of
from app.web.report_models import ModuleTestsOut, TestsOut, module_tests_out
from app.web.status_cache import Memo, watch_for

router = APIRouter(prefix="/api", tags=["api"])
badge_router = APIRouter(tags=["badges"])


# -- response models ------------------------------------------------------------


class SummaryOut(BaseModel):
    counts: dict[str, int] = Field(description="modules per status: untested, legacy, in_progress, migrated")
    total: int
    migrated: int
    percent: int


class WarningOut(BaseModel):
    path: str
    reason: str


class ScanOut(BaseModel):
    id: int
    repository: str
    ref: str
    commit: str
    commit_date: datetime
    started_at: datetime
    finished_at: datetime | None
    warnings: list[WarningOut]


class ModuleBrief(BaseModel):
    path: str
    name: str
    group: str
    pair: str | None
    component: bool
    status: str
    branch: str | None = Field(description="the branch whose chainsaw tests make it in_progress (work in flight)")


class ModuleOut(ModuleBrief):
    evidence: dict[str, Any] = Field(description="chainsaw tests, legacy suites and dependency manifests found")


class ModuleDetailOut(ModuleOut):
    parity: ParityOut | None = Field(
        description="a migrated module's legacy checks: carried over, lost, gone since; None when it has no migration to judge"
    )
    tests: ModuleTestsOut | None = Field(None, description="its chainsaw results from CI: last run, failure, last 20 runs")


class BlockerBrief(BaseModel):
    id: int
    title: str
    version: int


class MilestoneProgress(BaseModel):
    id: int
    title: str
    state: str = Field(description="current or completed")
    done: int
    total: int
    percent: int


class RegressionOut(BaseModel):
    """A module that went backwards on the default branch and has not moved since."""

    model_config = ConfigDict(populate_by_name=True)

    module: str = Field(description="the module's current path (renames followed)")
    path: str = Field(description="its path at that commit")
    from_: str | None = Field(alias="from")
    to: str
    kind: str
    renamed_from: str | None
    regression: bool
    commit: str
    date: datetime
    author: str
    subject: str
    pr: int | None


class ActiveJobOut(BaseModel):
    id: int
    state: str = Field(description="queued or running")
    phase: str | None = Field(description="fetching, scanning or history")
    progress: float | None = Field(description="0..1 of the phase, when known")
    commit: str | None
    requested_by: str


class FailedJobOut(BaseModel):
    error: str | None = Field(description="why the last fetch or scan failed; the last good scan still stands")
    at: datetime | None
    attempts: int = Field(description="failures in a row")
    retry_at: datetime | None = Field(description="when it is tried again")


class JobsOut(BaseModel):
    active: ActiveJobOut | None = Field(description="the fetch or scan under way")
    failed: FailedJobOut | None = Field(description="the last job failed and none has succeeded since")


class StatusOut(BaseModel):
    summary: SummaryOut
    groups: dict[str, SummaryOut] = Field(description="the same totals per module root (infrastructure, apps, ...)")
    modules: list[ModuleBrief]
    components: list[ModuleBrief] = Field(description="listed, but outside the migration totals")
    open_blockers: list[BlockerBrief]
    milestones: list[MilestoneProgress]
    last_scan: ScanOut | None
    regressions: list[RegressionOut] = Field(description="standing regressions, once history exists")
    jobs: JobsOut = Field(description="the background fetch and scan: under way, or failed")
    tests: TestsOut = Field(description="chainsaw results from CI: migrated modules passing, failing, never run")


class ScanRequest(BaseModel):
    ref: str | None = Field(
        None, max_length=200, pattern=r"^[A-Za-z0-9._/@^~{}][A-Za-z0-9._/@^~{}-]*$",
        description="branch, tag or commit; the configured ref when left out",
    )


class JobOut(BaseModel):
    id: int
    state: str = Field(description="queued, running, done or failed")
    ref: str
    requested_by: str = Field(description="a person, or timer, start, retry, webhook:github ...")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    phase: str | None = Field(description="while running: fetching, scanning or history")
    progress: float | None = Field(description="0..1 of the phase, when known")
    commit: str | None = Field(description="the commit scanned (or found unchanged)")
    fetched: bool = Field(description="whether the remote was asked")
    scanned: bool = Field(description="whether a scan was stored (false: nothing had moved)")
    scan_id: int | None = Field(description="the stored scan, once done")
    attempts: int = Field(description="failed tries before this one")
    error: str | None = Field(description="why it failed, one line")

    @classmethod
    def of(cls, job) -> JobOut:
        return cls.model_validate({**job.model_dump(), "commit": job.commit_sha})


class Ping(BaseModel):
    ok: bool


class ShieldsEndpoint(BaseModel):
    """The shields.io endpoint badge schema."""

    schemaVersion: int  # noqa: N815  (the schema's own spelling)
    label: str
    message: str
    color: str
    cacheSeconds: int  # noqa: N815


class ErrorDetail(BaseModel):
    status: int = Field(description="the HTTP status, again")
    message: str = Field(description="one line for a person")
    field: str | None = Field(description="the offending input, if one is to blame")


class ErrorOut(BaseModel):
    """The one shape of every 4xx under /api (``app.web.errors.error_body``)."""

    error: ErrorDetail


_WHY = {
    401: "no identity: a token or a session is needed (for reads too when SAWMILL_READ_REQUIRES_SIGNIN is on)",
    403: "a session or proxy write without its CSRF token",
    404: "no such thing",
    409: "someone changed it first: read it again",
    413: "the body is too large",
    422: "bad input; `field` names it",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting ``codes`` with the one error shape.

    Listing 422 here also replaces FastAPI's own validation-error schema, which
    is not what the app's handler sends.
    """
    return {code: {"model": ErrorOut, "description": _WHY[code]} for code in codes}


READ_ERRORS = error_responses(401, 422)
WRITE_ERRORS = error_responses(401, 403, 404, 409, 422)
NOT_MODIFIED = {304: {"description": "unchanged since the ETag sent in If-None-Match"}}
SVG = {"content": {"image/svg+xml": {"schema": {"type": "string"}}}}


# -- the in-memory snapshot -------------------------------------------------------


class Snapshot:
    """Everything /api/status and the badges say, built once per store version."""

    def __init__(self, status: dict[str, Any]) -> None:
        self.status = status
        self.body = json.dumps(status, separators=(",", ":"), default=str).encode()
        self.etag = _etag(self.body)
        self._badges: dict[tuple, tuple[bytes, str]] = {}
        self._responses: dict[tuple, Response] = {}

    def response(self, body: bytes, etag: str, media_type: str, private: bool, fresh: bool) -> Response:
        """A ready-made response, shared by every request for the same answer.

        Starlette responses are not changed by sending them, so one object per
        (answer, privacy, 200/304) serves them all without rebuilding headers.
        """
        key = (etag, media_type, private, fresh)
        if key not in self._responses:
            headers = {"ETag": etag, "Cache-Control": "private, no-cache" if private else "public, no-cache"}
            self._responses[key] = (
                Response(status_code=304, headers=headers) if fresh else Response(body, media_type=media_type, headers=headers)
            )
        return self._responses[key]

    def badge(self, kind: str, group: str | None, form: str) -> tuple[bytes, str]:
        """(body, etag) of a badge as SVG or endpoint JSON; unknown groups are a 404."""
        key = (kind, group, form)
        if key not in self._badges:
            badge = self._make(kind, group)
            body = badge.svg().encode() if form == "svg" else json.dumps(badge.endpoint()).encode()
            self._badges[key] = (body, _etag(body))
        return self._badges[key]

    def _make(self, kind: str, group: str | None) -> badges.Badge:
        if kind == "blockers":
            return badges.blockers_badge(len(self.status["open_blockers"]))
        if kind == "tests":
            return badges.tests_badge(self.status["tests"])
        summary = self.status["summary"]
        if group is not None:
            if group not in self.status["groups"]:
                raise NotFound(f"no module group {group!r}; known: {', '.join(sorted(self.status['groups'])) or 'none'}")
            summary = self.status["groups"][group]
        scanned = self.status["last_scan"] is not None
        return badges.migration_badge(summary["migrated"], summary["total"], summary["percent"], scanned, group)


def build_status(session) -> dict[str, Any]:
    scan = latest_scan(session)
    rows = scan_modules(session, scan.id) if scan else []
    modules = [m for m in rows if not m.component]
    groups: dict[str, list[ModuleResult]] = {}
    for module in modules:
        groups.setdefault(module.group, []).append(module)
    return {
        "summary": _summary(modules),
        "groups": {name: _summary(members) for name, members in sorted(groups.items())},
        "modules": [_brief(m) for m in modules],
        "components": [_brief(m) for m in rows if m.component],
        "open_blockers": _open_blockers(session),
        "milestones": _milestones(session),
        "last_scan": _scan(scan) if scan else None,
        "regressions": open_regressions(session, scan.repository, upto=scan.history_upto) if scan else [],
        "jobs": job_view(session, repository_of(session)),
        "tests": results_overview(session, modules),
    }


async def snapshot(request: Request) -> Snapshot:
    state = request.app.state
    memo = getattr(state, "status_memo", None)
    if memo is None:
        url = state.settings.database_url
        memo = state.status_memo = Memo(watch_for(url), lambda: Snapshot(_build(url, state.repository)))
    return memo.get()


def _build(url: str, repository: str | None) -> dict[str, Any]:
    with session_scope(url, repository) as session:
        return build_status(session)


SnapshotDep = Annotated[Snapshot, Depends(snapshot)]


def _summary(modules: list[ModuleResult]) -> dict[str, Any]:
    s = Summary.of(modules)  # type: ignore[arg-type]  # the scanner's own arithmetic
    return {"counts": s.counts, "total": s.total, "migrated": s.migrated, "percent": s.percent}


def _brief(m: ModuleResult) -> dict[str, Any]:
    return {
        "path": m.path, "name": m.name, "group": m.group, "pair": m.pair, "component": m.component,
        "status": m.status, "branch": m.branch,
    }  # fmt: skip


def _scan(scan) -> dict[str, Any]:
    return {
        "id": scan.id,
        "repository": scan.repository,
        "ref": scan.ref,
        "commit": scan.commit_sha,
        "commit_date": _iso(scan.commit_date),
        "started_at": _iso(scan.started_at),
        "finished_at": _iso(scan.finished_at),
        "warnings": scan.warnings,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _open_blockers(session) -> list[dict[str, Any]]:
    return [{"id": b["id"], "title": b["title"], "version": b["version"]} for b in progress_read.blockers(session)["open"]]


def _milestones(session) -> list[dict[str, Any]]:
    return [
        {"id": m["id"], "title": m["title"], "state": m["state"], "done": m["done"], "total": m["total"],
         "percent": round(100 * m["done"] / m["total"]) if m["total"] else 0}  # fmt: skip
        for m in progress_read.milestones(session)
    ]


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def cached(request: Request, snap: Snapshot, body: bytes, etag: str, media_type: str, badge: bool = False) -> Response:
    """``body`` with its ETag, or 304 when the client already holds it."""
    # no-cache: keep it, but ask each time (a 304 is cheap). Behind sign-in a
    # shared cache must not hand the answer to others (public badges are for everyone).
    settings = request.app.state.settings
    private = settings.read_requires_signin and not (badge and settings.public_badges)
    match = request.headers.get("if-none-match")
    return snap.response(body, etag, media_type, private, fresh=bool(match) and _matches(match, etag))


def _matches(header: str, etag: str) -> bool:
    # Weak comparison, as RFC 9110 asks of If-None-Match; "*" matches any current answer.
    if header.strip() == "*":
        return True
    return etag in (tag.strip().removeprefix("W/") for tag in header.split(","))


# -- reads ----------------------------------------------------------------------


@router.get("/ping", response_model=Ping, summary="A trivial in-memory answer (liveness, benchmarks)")
async def ping() -> dict[str, bool]:
    return {"ok": True}


@router.get(
    "/status",
    response_model=StatusOut,
    responses={**NOT_MODIFIED, **error_responses(401)},
    summary="Everything at a glance, answered from memory",
)
async def status(request: Request) -> Response:
    # The hottest route: its two dependencies are called inline, which spares
    # FastAPI's per-request dependency solving (a third of the cost here).
    await reader(request)
    snap = await snapshot(request)
    return cached(request, snap, snap.body, snap.etag, "application/json")


@router.get(
    "/modules",
    response_model=list[ModuleOut],
    responses=READ_ERRORS,
    summary="Every module of the last scan, with evidence",
)
def modules(
    session: SessionDep,
    viewer: ReaderDep,
    group: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(pattern="^(untested|legacy|in_progress|migrated)$")] = None,
) -> list[ModuleOut]:
    scan = latest_scan(session)
    rows = scan_modules(session, scan.id) if scan else []
    return [
        ModuleOut(**_brief(m), evidence=m.evidence)
        for m in rows
        if (group is None or m.group == group) and (status is None or m.status == status)
    ]


@router.get(
    "/modules/{path:path}",
    response_model=ModuleDetailOut,
    responses=error_responses(401, 404, 422),
    summary="One module by its path, with its parity",
)
def module(path: str, session: SessionDep, settings: SettingsDep, viewer: ReaderDep) -> ModuleDetailOut:
    scan = latest_scan(session)
    rows = scan_modules(session, scan.id) if scan else []
    found = next((m for m in rows if m.path == path.strip("/")), None)
    if found is None:
        raise NotFound(f"no module at {path!r} in the last scan")
    return ModuleDetailOut(
        **_brief(found), evidence=found.evidence, parity=parity_of(session, settings, found.path),
        tests=module_tests_out(module_tests(session, found.path)),
    )  # fmt: skip


# -- badges ---------------------------------------------------------------------

GroupQuery = Annotated[str | None, Query(max_length=200, description="a module root, e.g. apps")]


async def badge_reader(request: Request) -> None:
    """Badges follow the rule for reads, unless SAWMILL_PUBLIC_BADGES keeps them open:
    a README outside must show a private server's badges."""
    if not request.app.state.settings.public_badges:
        await reader(request)


BadgeReaderDep = Annotated[None, Depends(badge_reader)]


@badge_router.get(
    "/badge/migration.svg",
    response_class=Response,
    responses={200: SVG, **NOT_MODIFIED, **READ_ERRORS, 404: {**SVG, "description": "an unknown group, in the badge"}},
    summary="Migration badge (SVG)",
)
async def migration_svg(request: Request, viewer: BadgeReaderDep, snap: SnapshotDep, group: GroupQuery = None) -> Response:
    try:
        body, etag = snap.badge("migration", group, "svg")
    except NotFound:  # an <img> shows a picture, not an error page: say it in the badge
        svg = badges.Badge(badges.migration_label(group), "unknown group", "lightgrey").svg()
        return Response(svg, status_code=404, media_type="image/svg+xml", headers={"Cache-Control": "no-cache"})
    return cached(request, snap, body, etag, "image/svg+xml", badge=True)


@router.get(
    "/badge/migration",
    response_model=ShieldsEndpoint,
    responses={**NOT_MODIFIED, **error_responses(401, 404, 422)},
    summary="Migration badge, shields.io endpoint",
)
async def migration_endpoint(request: Request, viewer: BadgeReaderDep, snap: SnapshotDep, group: GroupQuery = None) -> Response:
    body, etag = snap.badge("migration", group, "json")
    return cached(request, snap, body, etag, "application/json", badge=True)


def _whole_repository_badge(kind: str, summary: str) -> None:
    """``/badge/{kind}.svg`` and ``/api/badge/{kind}``: a badge with no group to choose."""

    async def svg(request: Request, viewer: BadgeReaderDep, snap: SnapshotDep) -> Response:
        body, etag = snap.badge(kind, None, "svg")
        return cached(request, snap, body, etag, "image/svg+xml", badge=True)

    async def endpoint(request: Request, viewer: BadgeReaderDep, snap: SnapshotDep) -> Response:
        body, etag = snap.badge(kind, None, "json")
        return cached(request, snap, body, etag, "application/json", badge=True)

    badge_router.add_api_route(
        f"/badge/{kind}.svg", svg, name=f"{kind}_svg", response_class=Response,
        responses={200: SVG, **NOT_MODIFIED, **error_responses(401)}, summary=f"{summary} (SVG)",
    )  # fmt: skip
    router.add_api_route(
        f"/badge/{kind}", endpoint, name=f"{kind}_endpoint", response_model=ShieldsEndpoint,
        responses={**NOT_MODIFIED, **error_responses(401)}, summary=f"{summary}, shields.io endpoint",
    )  # fmt: skip


_whole_repository_badge("blockers", "Open blockers badge")
_whole_repository_badge("tests", "Chainsaw tests badge: migrated modules whose last CI run passed")


# -- scans ----------------------------------------------------------------------


@router.post(
    "/scans",
    response_model=JobOut,
    status_code=202,
    responses=error_responses(401, 403, 422),
    summary="Fetch and scan in the background",
)
def start_scan(who: WriterDep, settings: SettingsDep, body: ScanRequest | None = None) -> JobOut:
    """Queue a fetch and a scan (the one already waiting, if any, is joined) and answer at once."""
    ref = (body.ref if body else None) or settings.ref
    job, _new = request_sync(settings, who.name, ref=ref, force=True)
    return JobOut.of(job)


@router.get("/scans/{job_id}", response_model=JobOut, responses=error_responses(401, 404, 422), summary="A job's state")
def scan_state(job_id: Id, session: SessionDep, viewer: ReaderDep) -> JobOut:
    return JobOut.of(get_job(session, job_id))
