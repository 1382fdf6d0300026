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
