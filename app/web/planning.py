"""Backlog, milestones, blockers and the progress document pages.

Every write is a plain form POST that answers 303 to its page; htmx posts
the same form and gets the page's named block back instead. Bad input never
reaches the store's tables: the store raises ``Invalid`` or ``Conflict``, the
session rolls back, and the error handler draws the form again in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from sqlmodel import Session

from app.store import progress_read
from app.store.backlog import (
    create_backlog_item,
    delete_backlog_item,
    get_backlog_item,
    move_backlog_item,
    set_task_done,
    update_backlog_item,
)
from app.store.blockers import add_blocker, reopen_blocker, resolve_blocker
from app.store.errors import Invalid, NotFound
from app.store.progress import BACKLOG_STATUSES
from app.web.api_next import next_of
from app.web.auth import WriterDep, page_router
from app.web.deps import MAX_VERSION, HtmxDep, Id, SessionDep
from app.web.errors import form_view, page_number
from app.web.markdown import render_markdown
from app.web.page_cache import cached_page
from app.web.render import render

router = page_router()
reads = page_router()  # the pages, served from memory: matched before the writes (app.web.main)
FormText = Annotated[str, Form()]


def written(request: Request, session: Session, htmx: bool, page: str, template: str, block: str, build) -> Response:
    """After a write: commit, then 303 to the page, or for htmx the page's block."""
    session.commit()  # before answering, so the GET the redirect triggers sees the change
    if not htmx:
        return RedirectResponse(page, status_code=303)
    return render(request, template, build(session), block=block)


def number(value: str, field: str) -> int:
    try:
        parsed = int(value)
        if not 0 <= parsed <= MAX_VERSION:
            raise ValueError(value)
        return parsed
    except ValueError:
        # A hidden field: the message goes above the form, not beside an input nobody sees.
        raise Invalid(f"the form's {field} is missing or damaged; reload the page and try again") from None


# -- backlog -------------------------------------------------------------------


BACKLOG_PAGE = 100  # items a page: a backlog of thousands is pages of links, not one page of megabytes


def backlog_context(session: Session, page: int = 1) -> dict:
    shown = progress_read.backlog_page(session, page, BACKLOG_PAGE)
    groups = shown["groups"]
    lanes = {s: [(g["category"], g["items"][s]) for g in groups if g["items"][s]] for s in BACKLOG_STATUSES}
    pager = {k: shown[k] for k in ("page", "pages", "total", "size")}
    return {"statuses": BACKLOG_STATUSES, "lanes": lanes, "counts": shown["counts"],
            "categories": shown["categories"], "pager": pager}  # fmt: skip


def backlog_page_number(request: Request) -> int:
    """``?page=N`` of the backlog (the page a form was posted from); 1 when absent or not a number."""
    return page_number(request.query_params.get("page"))


def back_to_backlog(request: Request, anchor: str = "") -> tuple[str, Callable[[Session], dict]]:
    """Where a backlog write answers: the page it was posted from, and that page's context."""
    page = backlog_page_number(request)
    url = "/backlog" + (f"?page={page}" if page > 1 else "") + anchor
    return url, lambda session: backlog_context(session, page)


def backlog_form(key="add"):
    return Depends(form_view("backlog.html", "backlog", backlog_context, key, paged=True))


def _item_key(request: Request) -> str:
    return f"edit-{request.path_params['item_id']}"


@reads.get("/backlog", include_in_schema=False)
async def backlog_page(request: Request) -> Response:
    settings = request.app.state.settings
    page = backlog_page_number(request)
    build = lambda session: {**backlog_context(session, page), "next_up": next_of(session, settings)}  # noqa: E731
    return await cached_page(request, "backlog.html", build, block="backlog")


@router.post("/backlog", include_in_schema=False, dependencies=[backlog_form()])
def backlog_add(
    request: Request, session: SessionDep, who: WriterDep, htmx: HtmxDep,
    category: FormText = "", title: FormText = "",
) -> Response:  # fmt: skip
    create_backlog_item(session, category, title, who.name)
    url, build = back_to_backlog(request)
    return written(request, session, htmx, url, "backlog.html", "backlog", build)


@router.post("/backlog/{item_id}", include_in_schema=False, dependencies=[backlog_form(_item_key)])
def backlog_edit(
    request: Request, item_id: Id, session: SessionDep, who: WriterDep, htmx: HtmxDep,
    title: FormText = "", category: FormText = "",
) -> Response:  # fmt: skip
    update_backlog_item(session, item_id, who.name, title=title, category=category)
    url, build = back_to_backlog(request)
    return written(request, session, htmx, url, "backlog.html", "backlog", build)


@router.post("/backlog/{item_id}/move", include_in_schema=False, dependencies=[backlog_form(_item_key)])
def backlog_move(
    request: Request, item_id: Id, session: SessionDep, who: WriterDep, htmx: HtmxDep, status: FormText = ""
) -> Response:
    move_backlog_item(session, item_id, who.name, status=status)
    url, build = back_to_backlog(request, f"#item-{item_id}")
    return written(request, session, htmx, url, "backlog.html", "backlog", build)


@router.get("/backlog/{item_id}/delete", include_in_schema=False)
def backlog_delete_page(request: Request, item_id: Id, session: SessionDep) -> Response:
    """Without JavaScript, Delete asks here first (htmx asks in a dialog and posts at once)."""
    item = get_backlog_item(session, item_id)
    shown = {"id": item.id, "title": item.title, "category": item.category, "status": item.status}
    page = backlog_page_number(request)  # the backlog page it was on, to go back to
    return render(request, "backlog_delete.html", {"item": shown, "here": f"?page={page}" if page > 1 else ""})


@router.post("/backlog/{item_id}/delete", include_in_schema=False, dependencies=[backlog_form(_item_key)])
def backlog_delete(request: Request, item_id: Id, session: SessionDep, who: WriterDep, htmx: HtmxDep) -> Response:
    delete_backlog_item(session, item_id, who.name)
    url, build = back_to_backlog(request)
    return written(request, session, htmx, url, "backlog.html", "backlog", build)


# -- milestones ----------------------------------------------------------------


def milestones_context(session: Session) -> dict:
    return {"milestones": progress_read.milestones(session)}


@reads.get("/milestones", include_in_schema=False)
async def milestones_page(request: Request) -> Response:
    return await cached_page(request, "milestones.html", milestones_context, block="milestones")


def _task_key(request: Request) -> str:
    return f"task-{request.path_params['task_id']}"


@router.post(
    "/milestones/tasks/{task_id}",
    include_in_schema=False,
    dependencies=[Depends(form_view("milestones.html", "milestones", milestones_context, _task_key))],
)
def milestone_tick(
    request: Request, task_id: Id, session: SessionDep, who: WriterDep, htmx: HtmxDep, done: FormText = ""
) -> Response:
    if done not in ("true", "false"):
        raise Invalid("done must be true or false")  # a hidden field: shown above the task
    set_task_done(session, task_id, done == "true", who.name)
    return written(request, session, htmx, "/milestones", "milestones.html", "milestones", milestones_context)


# -- blockers ------------------------------------------------------------------


def blockers_context(session: Session) -> dict:
    return progress_read.blockers(session)


BLOCKERS_BLOCK = ("blockers.html", "blockers", blockers_context)


def blocker_form(action: str):
    key = lambda request: f"{action}-{request.path_params['blocker_id']}"  # noqa: E731
    return Depends(form_view("blockers.html", "blockers", blockers_context, key))


@reads.get("/blockers", include_in_schema=False)
async def blockers_page(request: Request) -> Response:
    return await cached_page(request, "blockers.html", blockers_context, block="blockers")


@router.post("/blockers", include_in_schema=False, dependencies=[Depends(form_view(*BLOCKERS_BLOCK, "add-blocker"))])
def blocker_add(
    request: Request, session: SessionDep, who: WriterDep, htmx: HtmxDep, title: FormText = "", points: FormText = ""
) -> Response:
    blocker = add_blocker(session, title, who.name, points.splitlines())
    session.flush()
    return written(request, session, htmx, f"/blockers#blocker-{blocker.id}", *BLOCKERS_BLOCK)


@router.post("/blockers/{blocker_id}/resolve", include_in_schema=False, dependencies=[blocker_form("resolve")])
def blocker_resolve(
    request: Request, blocker_id: Id, session: SessionDep, who: WriterDep, htmx: HtmxDep,
    version: FormText = "", note: FormText = "",
) -> Response:  # fmt: skip
    # The resolver is the signed-in identity, never a form field.
    resolve_blocker(session, blocker_id, number(version, "version"), note, who.name)
    return written(request, session, htmx, f"/blockers#blocker-{blocker_id}", *BLOCKERS_BLOCK)


@router.post("/blockers/{blocker_id}/reopen", include_in_schema=False, dependencies=[blocker_form("reopen")])
def blocker_reopen(
    request: Request, blocker_id: Id, session: SessionDep, who: WriterDep, htmx: HtmxDep, version: FormText = ""
) -> Response:
    reopen_blocker(session, blocker_id, number(version, "version"), who.name)
    return written(request, session, htmx, f"/blockers#blocker-{blocker_id}", *BLOCKERS_BLOCK)


# -- the document --------------------------------------------------------------


@reads.get("/document", include_in_schema=False)
async def document_page(request: Request) -> Response:
    return await cached_page(request, "document.html", document_context)


def document_context(session: Session) -> dict:
    try:
        text = progress_read.export_document(session)
    except NotFound:  # nothing imported yet: the page says how to get one, it is not a missing page
        text = ""
    # the migration entries with why each is (un)ticked, and their pin forms (app.web.document_pins)
    entries = progress_read.migration_entries(session)
    return {"html": render_markdown(text), "empty": not text.strip(), "entries": entries["entries"], "missing": entries["missing"]}


@reads.get("/document.md", include_in_schema=False)
def document_download(session: SessionDep) -> Response:
    text = progress_read.export_document(session)
    headers = {"Content-Disposition": 'attachment; filename="progress.md"'}
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8", headers=headers)
