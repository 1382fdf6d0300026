"""The audit log: every change to the progress data, who made it, and what it was before."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, func, or_
from sqlmodel import Field, Session, select

from app.store.scope import RepositoryScoped


class AuditEntry(RepositoryScoped, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = {"sqlite_autoincrement": True}  # an entry's id is never handed out again

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    who: str
    action: str  # "import", "scan.sync", "blocker.resolve", "backlog.move", ...
    target: str  # "blocker:3", "entry:7", "document"
    before: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))


def now() -> datetime:
    return datetime.now(UTC)


def record(
    session: Session,
    who: str,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEntry:
    entry = AuditEntry(at=now(), who=who, action=action, target=target, before=_plain(before), after=_plain(after))
    session.add(entry)
    return entry


def audit_log(session: Session, limit: int = 100, target: str | None = None) -> list[AuditEntry]:
    """The newest entries first; ``target`` narrows to one row ("blocker:3")."""
    query = select(AuditEntry)
    if target is not None:
        if "\x00" in target:  # no target holds one (see errors.no_nul), and PostgreSQL cannot be asked
            return []
        query = query.where(AuditEntry.target == target)
    return list(session.exec(query.order_by(AuditEntry.id.desc()).limit(limit)))


def audit_page(
    session: Session, target: str | None = None, who: str | None = None, offset: int = 0, limit: int = 50
) -> tuple[list[AuditEntry], int]:
    """One page of the log, newest first, and how many entries match in all.

    ``target`` is one row ("blocker:3") or a kind of row ("blocker": every blocker);
    ``who`` one person, exactly.
    """
    if "\x00" in (target or "") + (who or ""):  # see audit_log
        return [], 0
    conditions = []
    if target and ":" in target:
        conditions.append(AuditEntry.target == target)
    elif target:
        conditions.append(or_(AuditEntry.target == target, AuditEntry.target.startswith(f"{target}:", autoescape=True)))
    if who:
        conditions.append(AuditEntry.who == who)
    total = session.exec(select(func.count()).select_from(AuditEntry).where(*conditions)).one()
    query = select(AuditEntry).where(*conditions).order_by(AuditEntry.id.desc()).offset(offset).limit(limit)
    return list(session.exec(query)), total


def audit_people(session: Session) -> list[str]:
    """Everyone who changed something, by name."""
    return sorted(session.exec(select(AuditEntry.who).distinct()))


def format_entry(entry: dict[str, Any], width: int = 240) -> str:
    """One line of ``sawmill log``: when, who, what, and only the fields that changed."""
    at = entry["at"].strftime("%Y-%m-%d %H:%M:%S") if isinstance(entry["at"], datetime) else str(entry["at"])
    change = describe(entry["before"], entry["after"])
    if len(change) > width:
        change = change[: width - 1] + "…"
    return f"{at}  {entry['who']}  {entry['action']}  {entry['target']}  {change}"


def describe(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """``status: "open" -> "resolved"; version: 1 -> 2``; a new row lists what it holds, a deleted one what it held."""
    if before is None and after is None:
        return "-"
    if before is None:
        return "new: " + "; ".join(f"{k}: {_value(v)}" for k, v in _fields(after))
    if after is None:
        return "deleted, was: " + "; ".join(f"{k}: {_value(v)}" for k, v in _fields(before))
    return "; ".join(_changes(before, after)) or "no change"


def _fields(values: dict[str, Any] | None) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in (values or {}).items() if v not in (None, [], {}, "")]


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    out = []
    for key in [*after, *(k for k in before if k not in after)]:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict | None) and isinstance(new, dict) or isinstance(old, dict) and new is None:
            out.extend(_nested(key, old or {}, new or {}))
        elif key not in before:
            if new not in (None, [], ""):
                out.append(f"{key}: {_value(new)}")
        else:
            out.append(f"{key}: {_value(old)} -> {_value(new)}")
    return out


def _nested(key: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """A scan's {"modules": {path: status}}: each path when a few moved, counts by move when many did."""
    changes = _changes(before, after)
    if len(changes) <= 4:
        return changes
    moves = Counter(f"{_value(before.get(k))} -> {_value(after.get(k))}" for k in before.keys() | after.keys()
                    if before.get(k) != after.get(k))  # fmt: skip
    return [f"{count} {key}: {move}" for move, count in sorted(moves.items(), key=lambda m: (-m[1], m[0]))]


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str) and len(value) in (40, 64) and all(c in "0123456789abcdef" for c in value):
        return value[:12]  # a commit or a digest: its head is enough to tell two apart
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:79] + "…"


def _plain(value: Any) -> Any:
    """JSON-safe copy: dates and datetimes become ISO strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
