"""The audit log page (``/log``): who changed what, newest first, filtered and paginated."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.store.audit import audit_page, audit_people, describe
from app.web.auth import page_router
from app.web.deps import MAX_ID
from app.web.page_cache import cached_page

router = page_router()

PAGE_SIZE = 50
KINDS = ("blocker", "backlog", "task", "entry", "document", "modules")  # what a change can be made to
Filter = Annotated[str | None, Query(max_length=200)]


def log_context(session: Session, target: str | None, who: str | None, page: int) -> dict:
    target, who = (target or "").strip() or None, (who or "").strip() or None
    offset = (page - 1) * PAGE_SIZE
    entries, total = audit_page(session, target=target, who=who, offset=offset, limit=PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    if page > pages:  # past the end: the last page, as on the backlog
        page, offset = pages, (pages - 1) * PAGE_SIZE
        entries, total = audit_page(session, target=target, who=who, offset=offset, limit=PAGE_SIZE)
    return {
        "entries": [_row(e) for e in entries],
        "total": total,
        "first": offset + 1,
        "last": offset + len(entries),
        "page": page,
        "pages": pages,
        "target": target or "",
        "who": who or "",
        "people": audit_people(session),
        "kinds": KINDS,
        "newer": log_url(target, who, page - 1) if page > 1 else None,
        "older": log_url(target, who, page + 1) if page < pages else None,
    }


def _row(entry) -> dict:
    return {
        "at": entry.at,
        "who": entry.who,
        "action": entry.action,
        "target": entry.target,
        "change": describe(entry.before, entry.after),
        "target_url": log_url(entry.target, None, 1),
        "who_url": log_url(None, entry.who, 1),
    }


def log_url(target: str | None, who: str | None, page: int) -> str:
    query = {"target": target, "who": who, "page": page if page > 1 else None}
    text = urlencode({k: v for k, v in query.items() if v})
    return f"/log?{text}" if text else "/log"


@router.get("/log", include_in_schema=False)
async def log_page(request: Request, target: Filter = None, who: Filter = None,
                   page: Annotated[int, Query(ge=1, le=MAX_ID)] = 1) -> Response:  # fmt: skip
    return await cached_page(request, "log.html", lambda session: log_context(session, target, who, page))
