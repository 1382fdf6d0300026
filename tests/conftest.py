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


@pytest.fixture(autouse=True)
def own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test (and every ``sawmill`` it starts) gets its own SAWMILL_DATA_DIR: no test
    reads or writes the user's data folder, where the default database lives."""
    from app.config import get_settings

    folder = tmp_path / "sawmill-data"
    monkeypatch.setenv("SAWMILL_DATA_DIR", str(folder))
    monkeypatch.delenv("SAWMILL_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()
