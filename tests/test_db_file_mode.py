"""The SQLite file holds the key that signs session cookies: only its owner may read it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from app.store.db import migrate, session_scope
from app.store.tokens import create_token, session_secret


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_wal_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "data" / "sawmill.db"
    url = f"sqlite:///{path}"
    old = os.umask(0)  # the most permissive: a file made with SQLite's default would be 0644
    try:
        migrate(url)
        with session_scope(url) as session:
            session_secret(session)
            create_token(session, "alice")
    finally:
        os.umask(old)
    files = [path, path.with_name("sawmill.db-wal"), path.with_name("sawmill.db-shm")]
    assert all(file.exists() for file in files)
    assert {file.name: oct(mode(file)) for file in files} == {file.name: "0o600" for file in files}


def test_an_existing_database_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    url = f"sqlite:///{path}"
    migrate(url)
    path.chmod(0o640)  # e.g. readable by a backup job's group, on purpose
    migrate(url)
    assert mode(path) == 0o640
