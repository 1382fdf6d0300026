"""progress document: layout, checklists, migration entries, backlog, milestones, blockers, next steps, audit

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString
_when = sqlmodel.sql.sqltypes.UTCDateTime


def _placed() -> list[sa.Column]:
    """Where a typed row sits in the document: its run, its place, the blank lines before it."""
    return [
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("gap", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "progress_layout",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", _text(), nullable=False),
        sa.Column("gap", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("text", _text(), nullable=False),
        sa.Column("slot_kind", _text(), nullable=True),
        sa.Column("slot_key", _text(), nullable=True),
        sa.Column("slot_part", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "capability_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checklist", _text(), nullable=False),
        *_placed(),
        sa.Column("text", _text(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "migration_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("text", _text(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("modules", sa.JSON(), nullable=False),
        sa.Column("pin_reason", _text(), nullable=True),
        sa.Column("pin_until", sa.Date(), nullable=True),
        sa.Column("pin_done", sa.Boolean(), nullable=True),
        sa.Column("pinned_by", _text(), nullable=True),
        sa.Column("pinned_at", _when(), nullable=True),
        sa.Column("scan_status", _text(), nullable=True),
        sa.Column("unknown_modules", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["capability_item.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("migration_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_migration_entry_item_id"), ["item_id"], unique=False)
    op.create_table(
        "backlog_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", _text(), nullable=False),
        *_placed(),
        sa.Column("title", _text(), nullable=False),
        sa.Column("status", _text(), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", _text(), nullable=False),
        *_placed(),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", _text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "milestone_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("milestone_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", _text(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["milestone_id"], ["milestone.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("milestone_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_milestone_task_milestone_id"), ["milestone_id"], unique=False)
    op.create_table(
        "blocker",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", _text(), nullable=False),
        *_placed(),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", _text(), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("resolved_at", _when(), nullable=True),
        sa.Column("resolved_by", _text(), nullable=True),
        sa.Column("resolution_note", _text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "next_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _text(), nullable=False),
        *_placed(),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", _text(), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "progress_module",
        sa.Column("path", _text(), nullable=False),
        sa.Column("name", _text(), nullable=False),
        sa.Column("group", _text(), nullable=False),
        sa.Column("pair", _text(), nullable=True),
        sa.Column("status", _text(), nullable=False),
        sa.Column("commit_sha", _text(), nullable=False),
        sa.PrimaryKeyConstraint("path"),
    )
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _when(), nullable=False),
        sa.Column("who", _text(), nullable=False),
        sa.Column("action", _text(), nullable=False),
        sa.Column("target", _text(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_at"), ["at"], unique=False)


def downgrade() -> None:
    for index, table in (
        ("ix_audit_entry_at", "audit_entry"),
        ("ix_milestone_task_milestone_id", "milestone_task"),
        ("ix_migration_entry_item_id", "migration_entry"),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(index)
    for table in (
        "audit_entry",
        "progress_module",
        "next_step",
        "blocker",
        "milestone_task",
        "milestone",
        "backlog_item",
        "migration_entry",
        "capability_item",
        "progress_layout",
    ):
        op.drop_table(table)
