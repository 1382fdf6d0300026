"""Fixtures shared by the whole suite: every test gets its own migrated database."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.store.db import migrate


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite file in tmp, migrated with Alembic to the newest schema."""
    url = f"sqlite:///{tmp_path / 'sawmill.db'}"
    migrate(url)
    return url
