from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import inspect

from app.config import Settings
from app.store.db import get_engine, migrate


def test_migrate_creates_the_schema_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'sawmill.db'}"
    migrate(url)
    migrate(url)
    tables = set(inspect(get_engine(url)).get_table_names())
    assert {"scan", "module_result", "alembic_version"} <= tables


def test_settings_refuse_an_unknown_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAWMILL_DATABASE_URL", "mysql://nowhere")
    with pytest.raises(ValidationError, match="sqlite"):
        Settings()


def test_settings_refuse_a_port_out_of_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAWMILL_PORT", "70000")
    with pytest.raises(ValidationError, match="SAWMILL_PORT"):
        Settings()


def test_migrations_match_the_models(db_url: str) -> None:
    """Every table and column the models declare exists after `upgrade heads`, and no more."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import app.store.models  # noqa: F401

    with get_engine(db_url).connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []
