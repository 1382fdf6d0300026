"""A repository's history events have one event per seq

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 04:30:00

Before 0012's claim, two updates running at once could store the same events
twice under the same seqs. Such a history is not trusted: its events and its
state are deleted, so the next update walks it again from the first commit.
Then a unique index on (repository, seq) keeps it so, and serves the lookups
by repository the old index did.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    doubled = sa.text(
        "SELECT DISTINCT repository FROM history_event GROUP BY repository, seq HAVING count(*) > 1"
    )
    bind = op.get_bind()
    for (repository,) in bind.execute(doubled).all():
        for table in ("history_event", "history_state"):
            bind.execute(sa.text(f"DELETE FROM {table} WHERE repository = :r"), {"r": repository})
    with op.batch_alter_table("history_event") as batch_op:
        batch_op.create_index("ux_history_event_repository_seq", ["repository", "seq"], unique=True)
        batch_op.drop_index("ix_history_event_repository")


def downgrade() -> None:
    with op.batch_alter_table("history_event") as batch_op:
        batch_op.create_index("ix_history_event_repository", ["repository"], unique=False)
        batch_op.drop_index("ux_history_event_repository_seq")
