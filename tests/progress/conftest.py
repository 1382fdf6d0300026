"""The seed document and small helpers over a real migrated SQLite store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from app.store.db import get_engine, session_scope
from app.store.progress_doc import import_document

SEED = Path(__file__).resolve().parents[2] / "app" / "demo" / "progress.md"
TABLES = (
    "progress_layout", "capability_item", "migration_entry", "backlog_item", "milestone", "milestone_task",
    "blocker", "next_step", "progress_module", "audit_entry",
)  # fmt: skip


@pytest.fixture
def seed() -> bytes:
    return SEED.read_bytes()


@pytest.fixture
def seeded(db_url: str, seed: bytes) -> str:
    """A store holding the seed document."""
    with session_scope(db_url) as session:
        import_document(session, seed, who="alice", source="seed")
    return db_url


def dump_store(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every progress table: to show that a failed write changed nothing."""
    with get_engine(url).connect() as connection:
        return {t: list(connection.execute(text(f"SELECT * FROM {t} ORDER BY 1"))) for t in TABLES}


def run(url: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a store function in its own transaction, as the web and the CLI do."""
    with session_scope(url) as session:
        return fn(session, *args, **kwargs)
