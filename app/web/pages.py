"""The overview, module and document pages, and the Rescan button."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from app.scanner.model import ScanError
from app.services import scan_and_store
from app.store import progress_read
from app.store.db import session_scope
from app.store.errors import Invalid
from app.web.auth import WriterDep
from app.web.deps import HtmxDep, SessionDep, SettingsDep
from app.web.errors import form_view
from app.web.history import history_context, module_history_context
from app.web.render import render
from app.web.views import module_view, scan_view

router = APIRouter(tags=["pages"])


def overview_context(session) -> dict:
    milestones = progress_read.milestones(session)
    return {
        **scan_view(session),
        **history_context(session),
        "open_blockers": progress_read.blockers(session)["open"],
        "milestone": next((m for m in milestones if m["state"] == "current"), None),
    }


@router.get("/", include_in_schema=False)
def overview(request: Request, session: SessionDep) -> Response:
    return render(request, "overview.html", overview_context(session), block="live")


@router.post("/scan", include_in_schema=False)
def rescan(
    request: Request,
    settings: SettingsDep,
    htmx: HtmxDep,
    _who: WriterDep,
    _form: Annotated[object, Depends(form_view("overview.html", "live", overview_context, "rescan"))],
) -> Response:
    if settings.repo is None:
        raise Invalid("No repository to scan: start the dashboard with `sawmill serve --repo PATH`.")
    try:
        scan_and_store(settings.database_url, settings.repo, settings.ref, settings.config)
    except ScanError as exc:
        raise Invalid(str(exc)) from exc
    if not htmx:
        return RedirectResponse("/", status_code=303)
    with session_scope(settings.database_url) as session:
        context = overview_context(session)
    return render(request, "overview.html", context, block="live")


@router.get("/modules/{path:path}", include_in_schema=False)
def module_page(request: Request, path: str, session: SessionDep) -> Response:
    context = module_view(session, path)
    module = context["module"].path
    entries = progress_read.migration_entries(session)["entries"]
    context["entries"] = [e for e in entries if module in e["modules"]]
    context.update(module_history_context(session, module))
    return render(request, "module.html", context)
