"""A rolling upgrade: the first new pod migrates the database, and the old pods keep serving
until the new ones are ready; an old Sawmill started against the newer database says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from app.store.db import get_engine, head_revision, migrate

ROOT = Path(__file__).resolve().parents[2]


def migrated_by_a_newer_sawmill(url: str) -> str:
    """Stamp the database with the revision after this code's head, as the next release's
    migration leaves it; returns that revision."""
    newer = f"{int(head_revision()) + 1:04d}"
    with get_engine(url).begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": newer})
    return newer


def test_an_old_pod_stays_ready_once_a_new_one_migrated(make_client, db_url) -> None:
    newer = migrated_by_a_newer_sawmill(db_url)
    response = make_client().get("/readyz")
    assert response.status_code == 200, response.json()
    check = response.json()["checks"]["migrations"]
    assert check["ok"] and check["detail"].startswith(f"at {newer}, newer than this Sawmill ({head_revision()})")


def test_an_old_sawmill_refuses_a_newer_database_in_one_line(db_url) -> None:
    newer = migrated_by_a_newer_sawmill(db_url)
    message = (
        f"the database is at {newer}, newer than this Sawmill ({head_revision()}): "
        "run the newer Sawmill, or restore the backup taken before the upgrade"
    )
    with pytest.raises(Exception) as refused:  # noqa: PT011  (the message is what is checked)
        migrate(db_url)
    assert str(refused.value) == message
    env = {**os.environ, "SAWMILL_DATABASE_URL": db_url}
    done = subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", "migrate"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.strip().endswith(message), done.stderr
