"""Blockers: add, edit, resolve, reopen, with optimistic concurrency and an audit row each.

Every write names the version the caller saw; a stale version fails with
Conflict naming who changed the blocker first, and nothing is overwritten.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from app.store import audit
from app.store.errors import Conflict, Invalid, NotFound, no_nul
from app.store.progress import Blocker
from app.store.progress_layout import check_room, ensure_slot, gaps_without, restack
from app.store.turns import take_turn

MAX_NOTE = 2000
MAX_TITLE = 200
MAX_POINT = 500  # characters in one point: a line of the exported document, well within what an import takes
MAX_POINTS = 50  # points under one blocker


def add_blocker(session: Session, title: str, who: str, points: list[str] | None = None) -> Blocker:
    """A new open blocker, at the end of "Current Blockers"."""
    title, texts = _clean_title(title), _clean_points(points or [])
    take_turn(session)
    check_room(session, 1 + len(texts))
    part = ensure_slot(session, "blockers", "open")
    rows = _slot_rows(session, "open")
    blocker = Blocker(status="open", part=part, position=len(rows), number=0, title=title,
                      points=[{"text": t, "done": None} for t in texts])  # fmt: skip
    session.add(blocker)
    restack(session, [*rows, blocker], [r.gap for r in rows], numbered=True)
    audit.record(session, who, "blocker.add", f"blocker:{blocker.id}", None, blocker_state(blocker))
    return blocker


def edit_blocker(
    session: Session,
    blocker_id: int,
    version: int,
    who: str,
    title: str | None = None,
    points: list[str] | None = None,
) -> Blocker:
    take_turn(session)
    blocker = get_blocker(session, blocker_id)
    before = blocker_state(blocker)
    values: dict[str, Any] = {}
    if title is not None:
        values["title"] = _clean_title(title)
    if points is not None:
        values["points"] = [{"text": t, "done": None} for t in _clean_points(points)]
        check_room(session, len(values["points"]) - len(blocker.points))
    _claim(session, blocker, version, values)
    audit.record(session, who, "blocker.edit", f"blocker:{blocker.id}", before, blocker_state(blocker))
    return blocker


def resolve_blocker(
    session: Session,
    blocker_id: int,
    version: int,
    note: str,
    who: str,
    at: datetime | None = None,
) -> Blocker:
    """Mark a blocker resolved by ``who`` with a note (required, up to 2,000 characters);
    the export lists it under "Resolved Challenges"."""
    note = no_nul((note or "").strip(), "note")
    if not note:
        raise Invalid("say how the blocker was resolved: the note is required", field="note")
    if len(note) > MAX_NOTE:
        raise Invalid(f"the note is {len(note):,} characters; the limit is {MAX_NOTE:,}", field="note")
    take_turn(session)
    blocker = get_blocker(session, blocker_id)
    if blocker.status == "resolved":
        raise Conflict(_already_resolved(blocker))
    before, old = blocker_state(blocker), _slot_rows(session, "open")
    _claim(session, blocker, version, {"status": "resolved", "resolved_at": at or audit.now(), "resolved_by": who,
                                       "resolution_note": note})  # fmt: skip
    _move(session, blocker, old, "resolved")
    audit.record(session, who, "blocker.resolve", f"blocker:{blocker.id}", before, blocker_state(blocker))
    return blocker


def reopen_blocker(session: Session, blocker_id: int, version: int, who: str) -> Blocker:
    """Move a resolved blocker back to "Current Blockers"; the audit log keeps its old resolution."""
    take_turn(session)
    blocker = get_blocker(session, blocker_id)
    if blocker.status != "resolved":
        raise Conflict(f"blocker '{blocker.title}' is already open")
    before, old = blocker_state(blocker), _slot_rows(session, "resolved")
    _claim(session, blocker, version, {"status": "open", "resolved_at": None, "resolved_by": None,
                                       "resolution_note": None})  # fmt: skip
    _move(session, blocker, old, "open")
    audit.record(session, who, "blocker.reopen", f"blocker:{blocker.id}", before, blocker_state(blocker))
    return blocker


def get_blocker(session: Session, blocker_id: int) -> Blocker:
    blocker = session.get(Blocker, blocker_id)
    if blocker is None:
        raise NotFound(f"no blocker {blocker_id}")
    return blocker


def _claim(session: Session, blocker: Blocker, version: int, values: dict[str, Any]) -> None:
    """Write ``values`` only if the row is still at ``version``: one UPDATE, so two writers
    cannot both pass the check."""
    result = session.execute(
        update(Blocker)
        .where(Blocker.id == blocker.id, Blocker.version == version)
        .values(**values, version=version + 1)
    )
    session.refresh(blocker)
    if result.rowcount != 1:
        if blocker.status == "resolved":
            raise Conflict(_already_resolved(blocker))
        last = audit.audit_log(session, limit=1, target=f"blocker:{blocker.id}")
        by = f" by {last[0].who}" if last else ""
        raise Conflict(f"blocker '{blocker.title}' was changed{by} since you loaded it (version {version}, "
                       f"now {blocker.version}); reload and try again")  # fmt: skip


def _already_resolved(blocker: Blocker) -> str:
    when = blocker.resolved_at.strftime("%Y-%m-%d %H:%M UTC") if blocker.resolved_at else "earlier"
    by = blocker.resolved_by or "someone"
    return f"blocker '{blocker.title}' was already resolved by {by} ({when}); nothing was changed"


def _move(session: Session, blocker: Blocker, old: list[Blocker], target: str) -> None:
    """Take ``blocker`` out of its old section (``old``: that section's rows before the move)
    and append it to ``target``'s."""
    index = next(i for i, r in enumerate(old) if r.id == blocker.id)
    restack(session, [r for r in old if r.id != blocker.id], gaps_without(old, index), numbered=True)
    blocker.part = ensure_slot(session, "blockers", target)
    rows = _slot_rows(session, target, besides=blocker.id)
    restack(session, [*rows, blocker], [r.gap for r in rows], numbered=True)


def _slot_rows(session: Session, status: str, besides: int | None = None) -> list[Blocker]:
    query = select(Blocker).where(Blocker.status == status).order_by(Blocker.part, Blocker.position, Blocker.id)
    rows = [r for r in session.exec(query) if r.id != besides]
    return rows


def _clean_title(title: str) -> str:
    title = no_nul((title or "").strip(), "title")
    if not title:
        raise Invalid("a blocker needs a title", field="title")
    if "\n" in title or "\r" in title or len(title) > MAX_TITLE:
        raise Invalid(f"a blocker's title is one line of at most {MAX_TITLE} characters", field="title")
    return title


def _clean_points(points: list[str]) -> list[str]:
    texts = [no_nul(p.strip(), "points") for p in points if p and p.strip()]
    if any("\n" in t or "\r" in t for t in texts):
        raise Invalid("each point is one line", field="points")
    if len(texts) > MAX_POINTS:
        raise Invalid(f"a blocker holds at most {MAX_POINTS} points; these are {len(texts):,}", field="points")
    for number, text in enumerate(texts, start=1):
        if len(text) > MAX_POINT:
            raise Invalid(f"point {number} is {len(text):,} characters long; a point is at most {MAX_POINT}",
                          field="points")  # fmt: skip
    return texts


def blocker_state(blocker: Blocker) -> dict[str, Any]:
    """What a blocker is, as the audit log and the readers show it."""
    return {
        "title": blocker.title,
        "status": blocker.status,
        "points": [p["text"] for p in blocker.points],
        "resolved_at": blocker.resolved_at,
        "resolved_by": blocker.resolved_by,
        "resolution_note": blocker.resolution_note,
        "version": blocker.version,
    }
