"""Every team's data keyed by its repository; one job queue for fetches and scans; what refs a scan saw

Rows stored before this revision belong to the repository scanned last (or to
no repository yet, when nothing was scanned). ``scan_job`` gives way to
``job``: queued and running API scans are transient and are not carried over.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 05:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCOPED = (
    "audit_entry", "backlog_item", "blocker", "capability_item", "migration_entry", "milestone",
    "milestone_task", "next_step", "progress_layout",
)  # fmt: skip


def upgrade() -> None:
    owner = op.get_bind().execute(sa.text("SELECT repository FROM scan ORDER BY id DESC LIMIT 1")).scalar() or ""
    for table in SCOPED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(_repository_column())
            batch_op.create_index(f"ix_{table}_repository", ["repository"], unique=False)
        op.execute(sa.text(f"UPDATE {table} SET repository = :owner").bindparams(owner=owner))
    _rekey_progress_module(["repository", "path"], owner)
    with op.batch_alter_table("scan") as batch_op:
        batch_op.create_index("ix_scan_repository", ["repository"], unique=False)
        batch_op.add_column(sa.Column("refs_digest", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.drop_table("scan_job")
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repository", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("force", sa.Boolean(), nullable=False),
        sa.Column("want", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("heartbeat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("phase", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.Column("commit_sha", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("fetched", sa.Boolean(), nullable=False),
        sa.Column("scanned", sa.Boolean(), nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("job") as batch_op:
        batch_op.create_index("ix_job_repository", ["repository"], unique=False)
        batch_op.create_index("ix_job_state", ["state"], unique=False)


def downgrade() -> None:
    op.drop_table("job")
    op.create_table(
        "scan_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("scan_id", sa.Integer(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("scan") as batch_op:
        batch_op.drop_column("refs_digest")
        batch_op.drop_index("ix_scan_repository")
    # One repository's rows survive a downgrade: the one scanned last.
    owner = op.get_bind().execute(sa.text("SELECT repository FROM scan ORDER BY id DESC LIMIT 1")).scalar() or ""
    op.execute(sa.text("DELETE FROM progress_module WHERE repository != :owner").bindparams(owner=owner))
    _rekey_progress_module(["path"], owner)
    for table in reversed(SCOPED):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_index(f"ix_{table}_repository")
            batch_op.drop_column("repository")


def _rekey_progress_module(key: list[str], owner: str) -> None:
    """Rebuild progress_module with ``key`` as its primary key (a portable way to change one)."""
    columns = ["path", "name", "group", "pair", "status", "commit_sha"]
    op.create_table(
        "progress_module_new",
        *([_repository_column()] if "repository" in key else []),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("group", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("pair", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("commit_sha", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint(*key),
    )
    names = ", ".join(f'"{c}"' for c in columns)
    into, values = (f"repository, {names}", f":owner, {names}") if "repository" in key else (names, names)
    op.execute(sa.text(f"INSERT INTO progress_module_new ({into}) SELECT {values} FROM progress_module").bindparams(
        *([sa.bindparam("owner", owner)] if "repository" in key else [])
    ))
    op.drop_table("progress_module")
    op.rename_table("progress_module_new", "progress_module")


def _repository_column() -> sa.Column:
    return sa.Column("repository", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default="")
