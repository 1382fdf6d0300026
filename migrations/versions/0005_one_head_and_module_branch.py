"""Join the areas' revisions into one head; a module's in-flight branch

Revision ID: 0005
Revises: 0002, 0003, 0004
Create Date: 2026-11-26 17:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = ("0002", "0003", "0004")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("module_result") as batch_op:
        batch_op.add_column(sa.Column("branch", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("module_result") as batch_op:
        batch_op.drop_column("branch")
