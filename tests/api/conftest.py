"""API fixtures: the real app over a migrated temp database holding a real scan record."""

from __future__ import annotations

import warnings
from collections.abc import Callable
import pytest

from app.config import Settings
from app.store.db import session_scope
from app.store.tokens import create_token, revoke_token
from app.web.main import create_app

from .factory import record

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def scanned(db_url: str) -> str:
    record(db_url)
    return db_url


@pytest.fixture
def make_client(db_url: str) -> Callable[..., TestClient]:
    """A client of the real app; keyword arguments become Settings fields."""

    def make(client: tuple[str, int] = ("127.0.0.1", 50000), **settings) -> TestClient:
        app = create_app(Settings(database_url=db_url, **settings))
        return TestClient(app, raise_server_exceptions=False, client=client, follow_redirects=False)

    return make


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


@pytest.fixture
def new_token(db_url: str) -> Callable[[str], str]:
    def make(name: str = "alice") -> str:
        with session_scope(db_url) as session:
            return create_token(session, name)

    return make


@pytest.fixture
def revoke(db_url: str) -> Callable[[str], None]:
    def run(name: str) -> None:
        with session_scope(db_url) as session:
            revoke_token(session, name)

    return run


@pytest.fixture
def sawmill(db_url: str, monkeypatch: pytest.MonkeyPatch):
    """The ``sawmill`` command, run in process over the test's database."""
    from typer.testing import CliRunner

    from app.cli import cli
    from app.config import get_settings

    monkeypatch.setenv("SAWMILL_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield lambda *args: CliRunner().invoke(cli, list(args))
    get_settings.cache_clear()
