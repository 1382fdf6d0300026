"""Ids the audit log names are never handed out again; one writer at a time per repository

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 08:30:00

On SQLite a table without AUTOINCREMENT gives a deleted last row's id to the
next row, so ``backlog:189`` in the audit log could name several items. The
people's tables are recreated with AUTOINCREMENT, their counters started past
every id they or the audit log ever named. PostgreSQL's sequences never hand
an id out twice: nothing to do there.

``progress_lock`` holds one row per repository; a write to its progress data
updates that row first, so writers take turns (app.store.turns).
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> the prefix of its rows' audit targets ("backlog:12"); None: not named there
NAMED = {
    "backlog_item": "backlog",
    "blocker": "blocker",
    "capability_item": "checklist",
    "migration_entry": "entry",
    "milestone": "milestone",
    "milestone_task": "task",
    "next_step": "next_step",
    "audit_entry": None,
}


def upgrade() -> None:
    op.create_table(
        "progress_lock",
        sa.Column("repository", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("writes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("repository"),
    )
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, prefix in NAMED.items():
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass
        _start_past(table, prefix)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in NAMED:
            with op.batch_alter_table(table, recreate="always"):
                pass
    op.drop_table("progress_lock")


def _start_past(table: str, prefix: str | None) -> None:
    """Start ``table``'s counter past its largest id and every id the audit log names."""
    bind = op.get_bind()
    largest = bind.execute(sa.text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
    if prefix is not None:
        named = bind.execute(
            sa.text("SELECT target FROM audit_entry WHERE target LIKE :like"), {"like": f"{prefix}:%"}
        ).scalars()
        largest = max([largest, *(int(t.split(":", 1)[1]) for t in named if t.split(":", 1)[1].isdigit())])
    bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table})
    if largest:
        bind.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :n)"), {"t": table, "n": largest})
