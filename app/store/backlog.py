"""People's part of the document: backlog items and milestone tasks. Each write leaves an audit row."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from app.store import audit
from app.store.errors import Invalid, NotFound, no_nul
from app.store.progress import BACKLOG_STATUSES, BacklogItem, MilestoneTask
from app.store.progress_layout import check_room, ensure_slot, gaps_without, restack
from app.store.turns import take_turn

MAX_TEXT = 300


def create_backlog_item(session: Session, category: str, title: str, who: str, status: str = "todo") -> BacklogItem:
    """A new item at the end of its category (a new `###` heading if the category is new)."""
    category, title = _line(category, "category"), _line(title, "title")
    _check_status(status)
    take_turn(session)
    check_room(session, 1)
    part = ensure_slot(session, "backlog", category)
    rows = category_items(session, category)
    item = BacklogItem(category=category, part=part, position=len(rows), title=title, status=status)
    session.add(item)
    restack(session, [*rows, item], [r.gap for r in rows], numbered=False)
    audit.record(session, who, "backlog.create", f"backlog:{item.id}", None, _state(item))
    return item


def update_backlog_item(
    session: Session, item_id: int, who: str, title: str | None = None, category: str | None = None
) -> BacklogItem:
    """Rename an item, or move it to the end of another category."""
    take_turn(session)
    item = get_backlog_item(session, item_id)
    before = _state(item)
    if title is not None:
        item.title = _line(title, "title")
    if category is not None and _line(category, "category") != item.category:
        _leave(session, item)
        item.category = _line(category, "category")
        item.part = ensure_slot(session, "backlog", item.category)
        rows = [r for r in category_items(session, item.category) if r.id != item.id]
        restack(session, [*rows, item], [r.gap for r in rows], numbered=False)
    session.add(item)
    session.flush()
    audit.record(session, who, "backlog.update", f"backlog:{item.id}", before, _state(item))
    return item


def move_backlog_item(
    session: Session, item_id: int, who: str, status: str | None = None, position: int | None = None
) -> BacklogItem:
    """Set an item's status (todo, doing, done) and/or its place (0 = first) within its category."""
    take_turn(session)
    item = get_backlog_item(session, item_id)
    before = _state(item)
    if status is not None:
        _check_status(status)
        item.status = status
    if position is not None:
        rows = category_items(session, item.category)
        gaps = [r.gap for r in rows]
        others = [r for r in rows if r.id != item.id]
        index = max(0, min(position, len(others)))
        neighbour = others[index - 1] if index > 0 else (others[0] if others else item)
        item.part = neighbour.part
        restack(session, [*others[:index], item, *others[index:]], gaps, numbered=False)
    session.add(item)
    session.flush()
    audit.record(session, who, "backlog.move", f"backlog:{item.id}", before, _state(item))
    return item


def delete_backlog_item(session: Session, item_id: int, who: str) -> None:
    take_turn(session)
    item = get_backlog_item(session, item_id)
    before = _state(item)
    _leave(session, item)
    session.delete(item)
    session.flush()
    audit.record(session, who, "backlog.delete", f"backlog:{item_id}", before, None)


def get_backlog_item(session: Session, item_id: int) -> BacklogItem:
    item = session.get(BacklogItem, item_id)
    if item is None:
        raise NotFound(f"no backlog item {item_id}")
    return item


def category_items(session: Session, category: str) -> list[BacklogItem]:
    query = select(BacklogItem).where(BacklogItem.category == category)
    return list(session.exec(query.order_by(BacklogItem.part, BacklogItem.position, BacklogItem.id)))


def set_task_done(session: Session, task_id: int, done: bool, who: str) -> MilestoneTask:
    """Tick or untick a milestone task (a plain bullet becomes a checkbox)."""
    take_turn(session)
    task = session.get(MilestoneTask, task_id)
    if task is None:
        raise NotFound(f"no milestone task {task_id}")
    before = {"text": task.text, "done": task.done}
    task.done = done
    session.add(task)
    session.flush()
    audit.record(session, who, "milestone.tick" if done else "milestone.untick", f"task:{task.id}", before,
                 {"text": task.text, "done": done})  # fmt: skip
    return task


def _leave(session: Session, item: BacklogItem) -> None:
    """Close the gap an item leaves in its category."""
    rows = category_items(session, item.category)
    index = next(i for i, r in enumerate(rows) if r.id == item.id)
    restack(session, [r for r in rows if r.id != item.id], gaps_without(rows, index), numbered=False)


def _line(value: str, field: str) -> str:
    value = no_nul((value or "").strip(), field)
    if not value:
        raise Invalid(f"the {field} is required", field=field)
    if "\n" in value or "\r" in value or len(value) > MAX_TEXT:
        raise Invalid(f"the {field} is one line of at most {MAX_TEXT} characters", field=field)
    return value


def _check_status(status: str) -> None:
    if status not in BACKLOG_STATUSES:
        raise Invalid(f"status must be one of {', '.join(BACKLOG_STATUSES)}, not {status!r}", field="status")


def _state(item: BacklogItem) -> dict[str, Any]:
    return {"category": item.category, "title": item.title, "status": item.status, "position": item.position}
