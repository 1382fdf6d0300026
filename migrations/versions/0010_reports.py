"""Chainsaw reports from CI: each upload, its tests, and the modules each test covers

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 08:05:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_text = sqlmodel.sql.sqltypes.AutoString
_when = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "report",
        sa.Column("repository", _text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_hash", _text(), nullable=False),
        sa.Column("format", _text(), nullable=False),
        sa.Column("name", _text(), nullable=True),
        sa.Column("commit_sha", _text(), nullable=False),
        sa.Column("branch", _text(), nullable=True),
        sa.Column("run_url", _text(), nullable=True),
        sa.Column("suite", _text(), nullable=True),
        sa.Column("received_at", _when(), nullable=False),
        sa.Column("started_at", _when(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("tests", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repository", "content_hash", name="uq_report_repository_content_hash"),
    )
    with op.batch_alter_table("report") as batch_op:
        batch_op.create_index("ix_report_repository", ["repository"], unique=False)
        batch_op.create_index("ix_report_commit_sha", ["commit_sha"], unique=False)
        batch_op.create_index("ix_report_received_at", ["received_at"], unique=False)
    op.create_table(
        "report_test",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", _text(), nullable=False),
        sa.Column("folder", _text(), nullable=False),
        sa.Column("namespace", _text(), nullable=True),
        sa.Column("concurrent", sa.Boolean(), nullable=True),
        sa.Column("status", _text(), nullable=False),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("started_at", _when(), nullable=True),
        sa.Column("failed_step", _text(), nullable=True),
        sa.Column("failed_operation", _text(), nullable=True),
        sa.Column("operation_type", _text(), nullable=True),
        sa.Column("error", _text(), nullable=True),
        sa.ForeignKeyConstraint(["report_id"], ["report.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("report_test") as batch_op:
        batch_op.create_index("ix_report_test_report_id", ["report_id"], unique=False)
    op.create_table(
        "report_test_module",
        sa.Column("test_id", sa.Integer(), nullable=False),
        sa.Column("module_path", _text(), nullable=False),
        sa.ForeignKeyConstraint(["test_id"], ["report_test.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("test_id", "module_path"),
    )
    with op.batch_alter_table("report_test_module") as batch_op:
        batch_op.create_index("ix_report_test_module_module_path", ["module_path"], unique=False)


def downgrade() -> None:
    op.drop_table("report_test_module")
    op.drop_table("report_test")
    op.drop_table("report")
