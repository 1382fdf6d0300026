"""The overview, module and document pages, and the Rescan button."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from app.services.jobs import request_sync
from app.store import progress_read
from app.services.repos import repository_key
from app.store.db import session_scope
from app.store.jobs import job_view
from app.store.scope import repository_of
from app.web.auth import WriterDep, page_router
from app.web.deps import HtmxDep, SettingsDep
from app.web.errors import form_view
from app.store.errors import NotFound
from app.web.history import history_context, module_history_context, removed_module_context
from app.web.page_cache import cached_page, page_cache
from app.web.parity import parity_of
from app.web.api_next import next_of
from app.web.render import is_htmx, render
from app.web.status_cache import watch_for
from app.web.reports_view import ci_board, ci_module
from app.web.views import module_view, scan_view

router = page_router()


def overview_context(session) -> dict:
    milestones = progress_read.milestones(session)
    repository = repository_of(session)
    return {
        **ci_board(session, scan_view(session)),  # the cards marked with their last CI run
        "repository": repository,
        "jobs": job_view(session, repository),
        **history_context(session),
        "open_blockers": progress_read.blockers(session)["open"],
        "milestone": next((m for m in milestones if m["state"] == "current"), None),
    }


def live_version(request: Request) -> str:
    """A short fingerprint of the store (see ``status_cache.StoreWatch``): it moves with every write,
    from any process, so the overview's poll can ask "anything new?" without a page being drawn."""
    return fingerprint(watch_for(request.app.state.settings.database_url).version())


@lru_cache(maxsize=64)  # asked on every request of the overview and its poll
def fingerprint(version: tuple) -> str:
    return hashlib.blake2b(repr(version).encode(), digest_size=8).hexdigest()


@router.get("/", include_in_schema=False)
async def overview(request: Request, since: str | None = None) -> Response:
    moment = page_cache(request).moment()  # one version for the poll's answer and the page's key
    version = fingerprint(moment[0])
    if since == version and is_htmx(request):  # the poll of an open overview: nothing changed, nothing to swap
        return Response(status_code=204)
    settings = request.app.state.settings
    build = lambda session: {**overview_context(session), "live_version": version, "next_up": next_of(session, settings)}  # noqa: E731
    # `since` changes nothing drawn: every poller shares one render.
    return await cached_page(request, "overview.html", build, block="live", query=b"", moment=moment)


@router.post("/scan", include_in_schema=False)
def rescan(
    request: Request,
    settings: SettingsDep,
    htmx: HtmxDep,
    _who: WriterDep,
    _form: Annotated[object, Depends(form_view("overview.html", "live", overview_context, "rescan"))],
) -> Response:
    # Queued, not run here: the worker fetches and scans; the page polls until it ends.
    request_sync(settings, _who.name, force=True)
    if not htmx:
        return RedirectResponse("/", status_code=303)
    version = live_version(request)
    with session_scope(settings.database_url, repository_key(settings.repo)) as session:
        context = {**overview_context(session), "next_up": next_of(session, settings)}
    return render(request, "overview.html", {**context, "live_version": version}, block="live")


def module_context(session, path: str, settings=None) -> dict:
    try:
        context = module_view(session, path)
    except NotFound:  # gone from the tree: the history may know when and where it was removed
        context = removed_module_context(session, path)
        return {**context, **progress_read.module_in_document(session, context["module"]["path"])}
    module = context["module"].path
    context.update(progress_read.module_in_document(session, module), removed=False)
    context.update(module_history_context(session, module))
    context["ci"] = ci_module(session, module)  # its chainsaw results from CI
    context["parity"] = parity_of(session, settings, module) if settings else None  # it reads the repository
    return context


@router.get("/modules/{path:path}", include_in_schema=False)
async def module_page(request: Request, path: str) -> Response:
    settings = request.app.state.settings
    return await cached_page(request, "module_page.html", lambda session: module_context(session, path, settings))
