"""The scan configuration a stored history was computed with

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 02:00:00

A history walked with one ``sawmill.yaml`` (or a ``--config``) and extended with
another mixes two sets of rules. ``history_state.config_digest`` says which
rules built it; an update under other rules walks again from the first commit.
A history stored before this revision has none: the next update adopts its rules.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("history_state") as batch_op:
        batch_op.add_column(sa.Column("config_digest", sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("history_state") as batch_op:
        batch_op.drop_column("config_digest")
