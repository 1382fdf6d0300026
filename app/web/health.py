"""Health for orchestrators: ``/healthz`` (the process answers) and ``/readyz`` (it can serve).

Ready means the database answers and is not behind the code. The first scan is reported, not
required: a scan that fails (bad git credentials, say) must not take every replica out of the
Service, or the overview that shows why could not be reached.

Both are JSON, need no sign-in and are never cached: a probe must see now.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from sqlmodel import Session

from app.store.db import MIGRATIONS, get_engine, newer_than_code
from app.store.errors import one_line
from app.store.jobs import job_view

log = logging.getLogger("sawmill.web")
router = APIRouter(tags=["health"])
NO_STORE = {"Cache-Control": "no-store"}
GATES = ("database", "migrations")  # the checks readiness requires; "scan" is there to read


class Alive(BaseModel):
    ok: bool


class Check(BaseModel):
    ok: bool
    detail: str = Field(description="what was found, in a few words")


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, Check] = Field(
        description="database, migrations, scan: each ok or why not; ready requires database and migrations only"
    )


@router.get("/healthz", response_model=Alive, summary="The process answers (liveness); open to probes")
async def healthz() -> JSONResponse:
    return JSONResponse({"ok": True}, headers=NO_STORE)


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "not ready: the failing checks say why"}},
    summary="Database reachable, migrations at head (or a newer one's); the first scan's state is reported, not required (readiness); open to probes",
)
async def readyz(request: Request) -> JSONResponse:
    checks = await run_in_threadpool(readiness, request.app.state.settings.database_url, request.app.state.repository)
    ready = all(checks.get(name, {}).get("ok", False) for name in GATES)
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503, headers=NO_STORE)


def readiness(database_url: str, repository: str | None) -> dict[str, dict]:
    """Each check: ``{"ok": bool, "detail": str}``; later checks are skipped once the database fails."""
    checks: dict[str, dict] = {}
    try:
        with get_engine(database_url).connect() as connection:
            checks["database"] = {"ok": True, "detail": "reachable"}
            current = set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
            checks["migrations"] = _migrations_check(current, head_revisions())
            checks["scan"] = _scan_check(connection, repository)
    except Exception as exc:  # unreachable, refused, no such table: not ready, and why in a few words
        # The driver's own words name the host, port and user: the operator's log gets them, the
        # probe (public, no sign-in) only what failed and the kind of error.
        log.warning("not ready: %s", one_line(exc))
        failed = next(name for name in ("database", "migrations", "scan") if name not in checks)
        what = {"database": "cannot connect to the database", "migrations": "cannot read the schema's revision",
                "scan": "cannot read the scans and jobs"}[failed]  # fmt: skip
        checks[failed] = {"ok": False, "detail": f"{what} ({_error_class(exc)}); the server's log says more"}
    return checks


def _error_class(exc: Exception) -> str:
    """The driver's error class (``psycopg.OperationalError``), not SQLAlchemy's wrapping of it."""
    orig = getattr(exc, "orig", None)
    kind = type(orig if isinstance(orig, BaseException) else exc)
    return f"{kind.__module__.partition('.')[0]}.{kind.__qualname__}"


def _migrations_check(current: set[str], heads: set[str]) -> dict:
    """Ready at head, and ahead of it: during a rolling upgrade the first new pod migrates, and
    the old pods must keep serving until the new ones are ready (maxUnavailable 0), not all turn
    unready at once. Behind (or at a revision unknown to this code), not ready."""
    at = ", ".join(sorted(current)) or "nothing"
    if current == heads:
        return {"ok": True, "detail": "at head"}
    if newer_than_code(current):
        return {"ok": True, "detail": f"at {at}, newer than this Sawmill ({', '.join(sorted(heads))}): a newer one migrated it"}
    return {"ok": False, "detail": f"at {at}; head is {', '.join(sorted(heads))}"}


def _scan_check(connection, repository: str | None) -> dict:
    if repository is None:
        return {"ok": True, "detail": "no repository tracked"}
    scanned = connection.execute(text("SELECT 1 FROM scan WHERE repository = :r LIMIT 1"), {"r": repository}).first()
    if scanned:
        return {"ok": True, "detail": "scanned"}
    with Session(bind=connection) as session:
        view = job_view(session, repository)
    if view["active"]:
        return {"ok": True, "detail": f"first scan {view['active']['state']}"}
    if view["failed"]:
        return {"ok": False, "detail": f"the first scan failed: {view['failed']['error']}"}
    return {"ok": False, "detail": "no scan yet and none under way"}


@lru_cache(maxsize=1)
def head_revisions() -> set[str]:
    return set(ScriptDirectory(str(MIGRATIONS)).get_heads())
