"""The audit log: every change to the progress data, who made it, and what it was before."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel, select


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

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
        query = query.where(AuditEntry.target == target)
    return list(session.exec(query.order_by(AuditEntry.id.desc()).limit(limit)))


def format_entry(entry: dict[str, Any]) -> str:
    """One line of ``sawmill log``."""
    at = entry["at"].strftime("%Y-%m-%d %H:%M:%S") if isinstance(entry["at"], datetime) else str(entry["at"])
    change = f"{_brief(entry['before'])} -> {_brief(entry['after'])}"
    return f"{at}  {entry['who']}  {entry['action']}  {entry['target']}  {change}"


def _brief(value: Any, limit: int = 160) -> str:
    if value is None:
        return "-"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(value: Any) -> Any:
    """JSON-safe copy: dates and datetimes become ISO strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
