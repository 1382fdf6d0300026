"""Stale branches apart from those in flight; the history cut of a scan

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("history_branch") as batch_op:
        batch_op.add_column(
            sa.Column("stale", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # the highest history event seq shown for this scan; NULL = the scan is of the tip
    with op.batch_alter_table("scan") as batch_op:
        batch_op.add_column(sa.Column("history_upto", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scan") as batch_op:
        batch_op.drop_column("history_upto")
    with op.batch_alter_table("history_branch") as batch_op:
        batch_op.drop_column("stale")
