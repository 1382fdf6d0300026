"""``/history``: the whole migration history, filtered by module and kind of move, a page at a time.

A plain GET form filters and plain links page, so it all works without
JavaScript; the page is served from memory like the others (its query string
is part of the key).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import Response

from app.web.auth import page_router
from app.web.history import history_page_context
from app.web.page_cache import cached_page

router = page_router()


@router.get("/history", include_in_schema=False)
async def history_page(
    request: Request,
    module: Annotated[str, Query(max_length=500)] = "",
    kind: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    def build(session) -> dict:
        context = history_page_context(session, module.strip("/"), kind, page)
        at, last = context["page"], context["pages"]
        context["newer"] = _link(context["filters"], at - 1) if at > 1 else None
        context["older"] = _link(context["filters"], at + 1) if at < last else None
        return context

    return await cached_page(request, "history.html", build)


def _link(filters: dict[str, str], page: int) -> str:
    """The address of ``page`` with the same filters."""
    query = {k: v for k, v in filters.items() if v}
    if page > 1:
        query["page"] = str(page)
    return "/history" + (f"?{urlencode(query)}" if query else "")
