"""Page tests in process: the real app over a migrated temp database."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from app.config import Settings
from app.store.db import session_scope
from app.store.progress_doc import import_document
from app.store.tokens import create_token
from app.web.main import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

DEMO_DOCUMENT = Path(__file__).resolve().parents[2] / "app" / "demo" / "progress.md"


@pytest.fixture
def client(db_url: str) -> TestClient:
    with session_scope(db_url) as session:
        import_document(session, DEMO_DOCUMENT.read_bytes(), who="test")
    return TestClient(create_app(Settings(database_url=db_url)), raise_server_exceptions=False, follow_redirects=False)


@pytest.fixture
def bearer(db_url: str) -> dict[str, str]:
    with session_scope(db_url) as session:
        return {"Authorization": f"Bearer {create_token(session, 'carol')}"}
