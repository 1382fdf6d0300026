"""migration history: events, the last processed commit, branches in flight

Revision ID: 0003
Revises: 0001
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString
_when = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "history_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repository", _text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("path", _text(), nullable=False),
        sa.Column("from_status", _text(), nullable=True),
        sa.Column("to_status", _text(), nullable=True),
        sa.Column("kind", _text(), nullable=False),
        sa.Column("renamed_from", _text(), nullable=True),
        sa.Column("regression", sa.Boolean(), nullable=False),
        sa.Column("commit_sha", _text(), nullable=False),
        sa.Column("commit_date", _when(), nullable=False),
        sa.Column("author", _text(), nullable=False),
        sa.Column("subject", _text(), nullable=False),
        sa.Column("pr", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("history_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_history_event_repository"), ["repository"], unique=False)
    op.create_table(
        "history_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repository", _text(), nullable=False),
        sa.Column("branch", _text(), nullable=False),
        sa.Column("last_commit", _text(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.Column("note", _text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("history_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_history_state_repository"), ["repository"], unique=True)
    op.create_table(
        "history_branch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repository", _text(), nullable=False),
        sa.Column("path", _text(), nullable=False),
        sa.Column("branch", _text(), nullable=False),
        sa.Column("commit_sha", _text(), nullable=False),
        sa.Column("status", _text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("history_branch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_history_branch_repository"), ["repository"], unique=False)


def downgrade() -> None:
    for table in ("history_branch", "history_state", "history_event"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_repository"))
        op.drop_table(table)
