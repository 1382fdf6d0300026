"""The progress document's parts over the JSON API: blockers, backlog, milestones, pins, the document, the log.

Reads and writes call the same store functions as the pages and the CLI.
Every write needs an identity (``WriterDep``), and the identity, never a body
field, is what the store records as the person who acted. Each write commits
before it answers, so the next read (and /api/status) already sees it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from app.config import Settings
from app.store import backlog as backlog_store
from app.store import blockers as blocker_store
from app.store import progress_read as read
from app.services.repos import repository_key
from app.store.db import session_scope
from app.store.progress_sync import MAX_PIN_REASON, pin_entry, unpin_entry
from app.store.turns import with_retries
from app.web.api import READ_ERRORS, WRITE_ERRORS, error_responses
from app.web.auth import ReaderDep, WriterDep
from app.web.deps import MAX_VERSION, Id, SessionDep, SettingsDep

router = APIRouter(prefix="/api", tags=["progress"])
OPEN = error_responses(401)  # reads with no input: only a sign-in rule can refuse them

Version = Annotated[int, Field(ge=0, le=MAX_VERSION, description="the version you read; a stale one is a 409")]
Line = Annotated[str, Field(min_length=1, max_length=300)]


# -- models ---------------------------------------------------------------------


class BlockerOut(BaseModel):
    id: int
    title: str
    points: list[str]
    status: str = Field(description="open or resolved")
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None
    version: int


class BlockersOut(BaseModel):
    open: list[BlockerOut]
    resolved: list[BlockerOut]


class BacklogEntry(BaseModel):
    id: int
    title: str
    status: str
    position: int = Field(description="place within its category, 0 first")


class BacklogCategory(BaseModel):
    category: str
    items: dict[str, list[BacklogEntry]] = Field(description="items by status: todo, doing, done")


class BacklogItemOut(BaseModel):
    id: int
    category: str
    title: str
    status: str


class TaskOut(BaseModel):
    id: int
    text: str
    done: bool | None = Field(description="None: a plain bullet, not a checkbox")


class MilestoneOut(BaseModel):
    id: int
    title: str
    state: str = Field(description="current or completed")
    tasks: list[TaskOut]
    done: int
    total: int


class EntryOut(BaseModel):
    id: int
    text: str
    done: bool
    modules: list[str]
    scan_status: str | None = Field(
        description="the weakest status of the modules it names; retired: all removed from the tree; unknown"
    )
    unknown_modules: list[str]
    reason: str | None = Field(None, description="why the scans leave it unticked, in words; None when they tick it")
    pinned: bool
    pin_reason: str | None
    pin_until: date | None
    pinned_by: str | None


class AuditOut(BaseModel):
    id: int
    at: datetime
    who: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class ResolveIn(BaseModel):
    version: Version
    note: str = Field(max_length=10_000, description="how it was resolved (required, up to 2,000 characters)")


class ReopenIn(BaseModel):
    version: Version


class BacklogCreate(BaseModel):
    category: Line
    title: Line
    status: str = Field("todo", pattern="^(todo|doing|done)$")


class BacklogUpdate(BaseModel):
    title: Line | None = None
    category: Line | None = None


class BacklogMove(BaseModel):
    status: str | None = Field(None, pattern="^(todo|doing|done)$")
    position: int | None = Field(None, ge=0, le=1_000_000)


class TaskTick(BaseModel):
    done: bool


class PinIn(BaseModel):
    reason: str = Field(min_length=1, max_length=MAX_PIN_REASON)
    until: date | None = Field(None, description="the pin lapses after this day")
    done: bool = Field(True, description="the tick the pin holds")


# -- reads ----------------------------------------------------------------------


@router.get("/blockers", response_model=BlockersOut, responses=OPEN, summary="Open and resolved blockers")
def list_blockers(session: SessionDep, viewer: ReaderDep) -> dict:
    return read.blockers(session)


@router.get(
    "/backlog",
    response_model=list[BacklogCategory],
    responses=READ_ERRORS,
    summary="Backlog items by category and status, a page at a time",
)
def list_backlog(
    request: Request,
    response: Response,
    session: SessionDep,
    viewer: ReaderDep,
    page: Annotated[int, Query(ge=1, le=1_000_000, description="1 first; past the last: the last")] = 1,
    per_page: Annotated[int, Query(ge=1, le=1000, description="items a page, in document order")] = 500,
) -> list:
    """One page of items (the categories they sit in); ``X-Total-Count`` says how many items
    there are, and a ``Link`` header gives the ``next`` and ``prev`` pages' URLs."""
    shown = read.backlog_page(session, page, per_page)
    response.headers["X-Total-Count"] = str(shown["total"])
    near = ((shown["page"] + 1, "next"), (shown["page"] - 1, "prev"))
    links = [(n, rel) for n, rel in near if 1 <= n <= shown["pages"]]
    if links:  # relative: the Host header is the client's to set, never echoed
        path = request.url.path
        response.headers["Link"] = ", ".join(f'<{path}?page={n}&per_page={per_page}>; rel="{rel}"' for n, rel in links)
    return shown["groups"]


@router.get("/milestones", response_model=list[MilestoneOut], responses=OPEN, summary="Milestones and their tasks")
def list_milestones(session: SessionDep, viewer: ReaderDep) -> list:
    return read.milestones(session)


@router.get(
    "/entries", response_model=list[EntryOut], responses=OPEN, summary="Migration entries, their scan status and pins"
)
def list_entries(session: SessionDep, viewer: ReaderDep) -> list:
    return read.migration_entries(session)["entries"]


@router.get(
    "/document",
    response_class=Response,
    summary="The progress document, regenerated (markdown)",
    responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}, **OPEN},
)
def document(session: SessionDep, viewer: ReaderDep) -> Response:
    return Response(read.export_document(session), media_type="text/markdown; charset=utf-8")


@router.get("/log", response_model=list[AuditOut], responses=READ_ERRORS, summary="The audit log, newest first")
def log(
    session: SessionDep,
    viewer: ReaderDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    target: Annotated[str | None, Query(max_length=200, description='e.g. "blocker:3"')] = None,
) -> list:
    return read.audit_entries(session, limit=limit, target=target)


# -- writes ---------------------------------------------------------------------


def _write(settings: Settings, action):
    # Commit inside the route, so a failure is this request's error and the
    # answer is sent only once the change is stored.
    def once():
        with session_scope(settings.database_url, repository_key(settings.repo)) as session:
            return action(session)

    return with_retries(once)  # writers take turns (app.store.turns); a lost race is tried again


@router.post(
    "/blockers/{blocker_id}/resolve", response_model=BlockerOut, responses=WRITE_ERRORS, summary="Resolve a blocker"
)
def resolve(blocker_id: Id, body: ResolveIn, who: WriterDep, settings: SettingsDep) -> dict:
    return _write(settings, lambda s: read.blocker_view(
        blocker_store.resolve_blocker(s, blocker_id, body.version, body.note, who=who.name)))  # fmt: skip


@router.post(
    "/blockers/{blocker_id}/reopen",
    response_model=BlockerOut,
    responses=WRITE_ERRORS,
    summary="Reopen a resolved blocker",
)
def reopen(blocker_id: Id, body: ReopenIn, who: WriterDep, settings: SettingsDep) -> dict:
    return _write(settings, lambda s: read.blocker_view(
        blocker_store.reopen_blocker(s, blocker_id, body.version, who=who.name)))  # fmt: skip


@router.post(
    "/backlog", response_model=BacklogItemOut, status_code=201, responses=WRITE_ERRORS, summary="Add a backlog item"
)
def create_item(body: BacklogCreate, who: WriterDep, settings: SettingsDep) -> dict:
    return _write(settings, lambda s: _item(
        backlog_store.create_backlog_item(s, body.category, body.title, who.name, body.status)))  # fmt: skip


@router.patch(
    "/backlog/{item_id}",
    response_model=BacklogItemOut,
    responses=WRITE_ERRORS,
    summary="Rename an item or change its category",
)
def update_item(item_id: Id, body: BacklogUpdate, who: WriterDep, settings: SettingsDep) -> dict:
    return _write(settings, lambda s: _item(
        backlog_store.update_backlog_item(s, item_id, who.name, title=body.title, category=body.category)))  # fmt: skip


@router.post(
    "/backlog/{item_id}/move",
    response_model=BacklogItemOut,
    responses=WRITE_ERRORS,
    summary="Set an item's status and/or place",
)
def move_item(item_id: Id, body: BacklogMove, who: WriterDep, settings: SettingsDep) -> dict:
    return _write(settings, lambda s: _item(
        backlog_store.move_backlog_item(s, item_id, who.name, status=body.status, position=body.position)))  # fmt: skip


@router.delete(
    "/backlog/{item_id}",
    status_code=204,
    response_class=Response,
    responses=WRITE_ERRORS,
    summary="Delete a backlog item",
)
def delete_item(item_id: Id, who: WriterDep, settings: SettingsDep) -> Response:
    _write(settings, lambda s: backlog_store.delete_backlog_item(s, item_id, who.name))
    return Response(status_code=204)


@router.put(
    "/milestones/tasks/{task_id}",
    response_model=TaskOut,
    responses=WRITE_ERRORS,
    summary="Tick or untick a milestone task",
)
def tick(task_id: Id, body: TaskTick, who: WriterDep, settings: SettingsDep) -> dict:
    def action(s):
        task = backlog_store.set_task_done(s, task_id, body.done, who.name)
        return {"id": task.id, "text": task.text, "done": task.done}

    return _write(settings, action)


@router.put(
    "/entries/{entry_id}/pin", response_model=EntryOut, responses=WRITE_ERRORS, summary="Pin a migration entry's tick"
)
def pin(entry_id: Id, body: PinIn, who: WriterDep, settings: SettingsDep) -> dict:
    return _write(settings, lambda s: read.entry_view(
        pin_entry(s, entry_id, body.reason, who.name, until=body.until, done=body.done), date.today(),
        read.Modules(s)))  # fmt: skip


@router.delete(
    "/entries/{entry_id}/pin", response_model=EntryOut, responses=WRITE_ERRORS, summary="Unpin: the scans decide again"
)
def unpin(entry_id: Id, who: WriterDep, settings: SettingsDep) -> dict:
    return _write(settings, lambda s: read.entry_view(unpin_entry(s, entry_id, who.name), date.today(), read.Modules(s)))


def _item(item) -> dict:
    return {"id": item.id, "category": item.category, "title": item.title, "status": item.status}
