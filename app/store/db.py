"""The database: engines, sessions and migrations.

The schema changes only through Alembic; every command and the web app call
``migrate`` before they touch a database, and the tests do the same on a temp
file. Nothing here calls ``create_all()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.pool import NullPool
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def driver_url(url: str) -> str:
    """The URL SQLAlchemy is given for ``url``: a plain ``postgresql://`` goes through
    psycopg 3 (``pip install 'sawmill[postgres]'``), not SQLAlchemy's default psycopg2;
    a URL naming its driver (``postgresql+asyncpg://``, ``sqlite://``) is kept as written."""
    plain = "postgresql://"
    return f"postgresql+psycopg://{url[len(plain):]}" if url.startswith(plain) else url


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", driver_url(url).replace("%", "%%"))
    return config


MIGRATE_LOCK = 0x5A3_3111  # a PostgreSQL advisory lock key: replicas starting at once migrate one after another


def migrate(url: str) -> None:
    """Bring the database at ``url`` up to the newest schema. On PostgreSQL, several replicas
    starting together take turns (the second finds the schema at head and does nothing)."""
    _ensure_sqlite_folder(url)
    if not url.startswith("postgresql"):  # SQLite: the file's own write lock serialises migrations
        command.upgrade(alembic_config(url), "heads")
        return
    # a connection of its own, closed after: a pooled one would hold the database open
    with create_engine(driver_url(url), poolclass=NullPool).connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATE_LOCK})
        try:
            command.upgrade(alembic_config(url), "heads")
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATE_LOCK})


def _ensure_sqlite_folder(url: str) -> None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url[len(prefix):] not in ("", ":memory:"):
        Path(url[len(prefix):]).parent.mkdir(parents=True, exist_ok=True)


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine per URL for the life of the process."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(driver_url(url), pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@contextmanager
def session_scope(url: str, repository: str | None = None) -> Iterator[Session]:
    """A session that commits when the block ends cleanly and rolls back otherwise.

    Bound to ``repository`` (None: the store's current one), see ``app.store.scope``.
    """
    from app.store.scope import bind

    with bind(Session(get_engine(url), expire_on_commit=False), repository) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
