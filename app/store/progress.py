"""The progress document's tables.

The document's layout (headings, raw text, blank lines) lives in
``progress_layout``: one row per heading or raw block, and one "slot" row
where a section's typed items go. Each typed row carries its own ``gap``
(blank lines before it), ``part`` (which run of its section it sits in, when
raw text splits a section) and ``position``, so the export writes the
document back exactly as it came in.

The functions that write are in progress_doc (import/export), progress_sync
(scan sync and pins), blockers, backlog and audit; progress_read has the reads.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field

from app.store.scope import RepositoryScoped, Table

BACKLOG_STATUSES = ("todo", "doing", "done")
# On SQLite a deleted last row's id would go to the next row; the audit log names rows by id.
NEVER_REUSED = {"sqlite_autoincrement": True}


class ProgressLayout(RepositoryScoped, table=True):
    __tablename__ = "progress_layout"

    id: int | None = Field(default=None, primary_key=True)
    position: int
    kind: str  # "heading", "raw", "slot" or "end" (trailing blank lines, final newline)
    gap: int = 0
    level: int | None = None  # heading level
    text: str = ""  # heading text, raw text; for "end", how the file ends (progress_doc._ending)
    slot_kind: str | None = None
    slot_key: str | None = None
    slot_part: int = 0


class CapabilityItem(RepositoryScoped, table=True):
    """A "- [x] text" line of a Current Status checklist, with its sub-points."""

    __tablename__ = "capability_item"
    __table_args__ = NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    checklist: str  # its ### heading
    part: int = 0
    position: int
    gap: int = 0
    text: str
    done: bool
    # [{"text": str, "done": bool | None}] or, for a migration entry, [{"entry": id}]
    points: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class MigrationEntry(RepositoryScoped, table=True):
    """A checklist sub-point that names modules; the scanner decides whether it is ticked."""

    __tablename__ = "migration_entry"
    __table_args__ = NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="capability_item.id", index=True, ondelete="CASCADE")
    text: str  # without any "(pinned: ...)" suffix
    done: bool
    modules: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    pin_reason: str | None = None
    pin_until: date | None = None
    pin_done: bool | None = None  # the tick a pin holds
    pinned_by: str | None = None
    pinned_at: datetime | None = None
    scan_status: str | None = None  # migrated / in_progress / legacy / untested / unknown
    unknown_modules: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))

    def pinned(self, today: date) -> bool:
        return self.pin_reason is not None and (self.pin_until is None or self.pin_until >= today)


class BacklogItem(RepositoryScoped, table=True):
    __tablename__ = "backlog_item"
    __table_args__ = NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    category: str  # its ### heading
    part: int = 0
    position: int
    gap: int = 0
    title: str
    status: str = "todo"  # todo / doing / done
    points: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Milestone(RepositoryScoped, table=True):
    __table_args__ = NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    state: str  # "current" or "completed"
    part: int = 0
    position: int
    gap: int = 0
    number: int
    title: str


class MilestoneTask(RepositoryScoped, table=True):
    __tablename__ = "milestone_task"
    __table_args__ = NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    milestone_id: int = Field(foreign_key="milestone.id", index=True, ondelete="CASCADE")
    position: int
    text: str
    done: bool | None = None  # None: a plain bullet, not a checkbox


class Blocker(RepositoryScoped, table=True):
    __table_args__ = NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    status: str = "open"  # "open" or "resolved"
    part: int = 0
    position: int
    gap: int = 0
    number: int
    title: str
    points: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_note: str | None = None
    version: int = 1


class NextStep(RepositoryScoped, table=True):
    __tablename__ = "next_step"
    __table_args__ = NEVER_REUSED

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # "immediate" or "future"
    part: int = 0
    position: int
    gap: int = 0
    number: int
    title: str
    points: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class ProgressModule(RepositoryScoped, table=True):
    """The modules of the last scan the document was synced with."""

    __tablename__ = "progress_module"

    repository: str = Field(default="", primary_key=True)
    path: str = Field(primary_key=True)
    name: str
    group: str
    pair: str | None = None
    status: str
    commit_sha: str


class ProgressLock(Table, table=True):
    """One row per repository: a write to its progress data updates it first, so writers
    take turns (app.store.turns). Not repository-scoped: keyed by hand."""

    __tablename__ = "progress_lock"

    repository: str = Field(primary_key=True)
    writes: int = 0
