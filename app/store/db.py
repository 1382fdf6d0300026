"""The database: engines, sessions and migrations.

The schema changes only through Alembic; every command and the web app call
``migrate`` before they touch a database, and the tests do the same on a temp
file. Nothing here calls ``create_all()``.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlalchemy import event, insert, text
from sqlalchemy.pool import NullPool
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, create_engine

if TYPE_CHECKING:  # Alembic is imported only when a database is behind: most commands find it at head
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def driver_url(url: str) -> str:
    """The URL SQLAlchemy is given for ``url``: a plain ``postgresql://`` goes through
    psycopg 3 (``pip install 'sawmill[postgres]'``), not SQLAlchemy's default psycopg2;
    a URL naming its driver (``postgresql+asyncpg://``, ``sqlite://``) is kept as written."""
    plain = "postgresql://"
    return f"postgresql+psycopg://{url[len(plain):]}" if url.startswith(plain) else url


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", driver_url(url).replace("%", "%%"))
    return config


MIGRATE_LOCK = 0x5A3_3111  # a PostgreSQL advisory lock key: replicas starting at once migrate one after another


def head_revision() -> str:
    """Alembic's head, read from the newest migration's file name (``0010_reports.py``: ``0010``)
    without loading Alembic; a test holds it equal to the head Alembic itself finds."""
    return max(p.name for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py")).partition("_")[0]


class NewerDatabase(RuntimeError):
    """The database was migrated by a newer Sawmill than this one, which cannot read its
    revision, let alone go back from it (migrations only go forward)."""


def newer_than_code(versions: set[str] | None) -> bool:
    """Whether ``versions`` (a database's revisions) are all numbered after this code's head:
    a newer Sawmill migrated it. Not for a revision this code does not number (unknown)."""
    head = int(head_revision())
    return bool(versions) and all(v.isdigit() and int(v) > head for v in versions)


def _refuse_newer(versions: set[str] | None) -> None:
    if newer_than_code(versions):
        raise NewerDatabase(
            f"the database is at {', '.join(sorted(versions))}, newer than this Sawmill ({head_revision()}): "
            "run the newer Sawmill, or restore the backup taken before the upgrade"
        )


def migrate(url: str) -> None:
    """Bring the database at ``url`` up to the newest schema. On PostgreSQL, several replicas
    starting together take turns (the second finds the schema at head and does nothing).

    A database already at head costs one query: Alembic is not even imported. Raises
    NewerDatabase when a newer Sawmill migrated it (Alembic would only say it cannot find the revision)."""
    _ensure_sqlite_folder(url)
    if not url.startswith("postgresql"):  # SQLite: the file's own write lock serialises migrations
        if (versions := _sqlite_versions(url)) != {head_revision()}:
            _refuse_newer(versions)
            _upgrade(url)
        return
    # a connection of its own, closed after: a pooled one would hold the database open
    with create_engine(driver_url(url), poolclass=NullPool).connect() as connection:
        if (versions := _postgresql_versions(connection)) == {head_revision()}:
            return
        _refuse_newer(versions)
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATE_LOCK})
        try:
            _refuse_newer(_postgresql_versions(connection))  # a newer replica may have migrated while this one waited
            _upgrade(url)
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATE_LOCK})
        connection.execute(text("SELECT pg_notify(:channel, 'migrate')"), {"channel": CHANGES})  # rows may have moved
        connection.commit()


def _upgrade(url: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(url), "heads")


def _sqlite_versions(url: str) -> set[str] | None:
    """The revisions an existing SQLite file is stamped with; None when there is no such file
    (or the URL says more than a path: Alembic then looks for itself)."""
    path = url.removeprefix("sqlite:///")
    if path == url or path in ("", ":memory:") or "?" in path or not Path(path).is_file():
        return None
    try:  # read-only: the check never creates, locks for writing or changes the file
        with closing(sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=30)) as db:
            return {row[0] for row in db.execute("SELECT version_num FROM alembic_version")}
    except sqlite3.Error:
        return None


def _postgresql_versions(connection: Connection) -> set[str] | None:
    try:
        if connection.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
            return None
        return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        connection.commit()  # hold no lock on alembic_version while another connection migrates


def _ensure_sqlite_folder(url: str) -> None:
    """The folder of a SQLite file, and a new file readable by its owner only: the store holds
    the key that signs session cookies. SQLite gives the -wal and -shm files the same mode."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and url[len(prefix):] not in ("", ":memory:"):
        path = url[len(prefix):]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if "?" not in path:  # a URL with options names a file SQLite itself opens as told
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except FileExistsError:
                pass


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine per URL for the life of the process (closed as it ends: see close_engines)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "savepoint", _sqlite_savepoint_in_a_transaction)
    else:
        engine = create_engine(driver_url(url), pool_pre_ping=True)
    _track_writes(engine, notify=not url.startswith("sqlite"))
    _engines.add(engine)
    return engine


_engines: weakref.WeakSet[Engine] = weakref.WeakSet()  # every engine still alive


def close_engines() -> None:
    """Close the pooled connections of every engine, as the process ends. Not left to the garbage
    collector: a command ends with its objects frozen (see app.cli.main), and SQLite folds its
    write-ahead log back into the database file only as the last connection closes, so a copy of
    the file alone would lack the last writes. PostgreSQL sees its sessions end cleanly."""
    for engine in list(_engines):
        engine.dispose()


atexit.register(close_engines)


CHANGES = "sawmill_store"  # the PostgreSQL channel each commit that wrote is announced on
PROCESS = uuid.uuid4().hex  # the announcement's payload: tells this process's own commits from others'
_WRITES = ("insert", "update", "delete", "replace", "create", "drop", "alter")
_WROTE = "sawmill_wrote"
_after_write: weakref.WeakKeyDictionary[Engine, list[Callable[[], None]]] = weakref.WeakKeyDictionary()


def after_write(engine: Engine, callback: Callable[[], None]) -> None:
    """Call ``callback`` once each commit through ``engine`` that wrote has completed (never before:
    a reader woken by it must find the rows)."""
    _after_write.setdefault(engine, []).append(callback)


def _track_writes(engine: Engine, notify: bool) -> None:
    """Note which transactions wrote; on PostgreSQL, announce their commits (``NOTIFY``, delivered
    to every listening process once the commit is done, and only within this database)."""
    callbacks = _after_write.setdefault(engine, [])
    committing: set[int] = set()

    def mark(conn, _cursor, statement, *_args) -> None:
        if statement.lstrip()[:7].lower().startswith(_WRITES):
            conn.info[_WROTE] = True

    def commit(conn) -> None:  # before the COMMIT is sent
        if conn.info.pop(_WROTE, False):
            pooled = conn.connection  # what the dialect's do_commit is handed
            if notify:
                cursor = pooled.cursor()
                cursor.execute("SELECT pg_notify(%s, %s)", (CHANGES, PROCESS))
                cursor.close()
            committing.add(id(pooled))

    def rollback(conn) -> None:
        conn.info.pop(_WROTE, None)

    do_commit = engine.dialect.do_commit

    def commit_then_tell(pooled) -> None:
        try:
            do_commit(pooled)
        except BaseException:
            committing.discard(id(pooled))
            raise
        if id(pooled) in committing:
            committing.discard(id(pooled))
            for callback in callbacks:
                callback()

    engine.dialect.do_commit = commit_then_tell  # SQLAlchemy's commit event fires before the commit, not after
    event.listen(engine, "before_cursor_execute", mark)
    event.listen(engine, "commit", commit)
    event.listen(engine, "rollback", rollback)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_savepoint_in_a_transaction(connection, _name) -> None:
    """Open the transaction a SAVEPOINT belongs in, when no write has opened it yet. Python's
    sqlite3 begins a transaction only before a write, so a SAVEPOINT emitted first opens one of
    its own, and its RELEASE commits: a ``begin_nested`` block's rows would outlive a rollback."""
    if not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")


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


def insert_many(connection, table, keys: list[str], rows: list[tuple]) -> None:
    """``INSERT`` ``rows`` (values in the order of ``keys``) straight through the driver's executemany.

    SQLAlchemy's own executemany builds and type-processes every parameter in Python;
    here only the columns whose type converts a value (a datetime on SQLite) are
    converted, with the dialect's own converter, so what is stored is the same.
    """
    dialect = connection.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    convert = [(i, p) for i, k in enumerate(keys) if (p := table.c[k].type._cached_bind_processor(dialect))]
    if convert:
        rows = [_converted(row, convert) for row in rows]
    if not compiled.positional:
        connection.exec_driver_sql(compiled.string, [dict(zip(keys, row)) for row in rows])
    elif list(compiled.positiontup) == keys:
        connection.exec_driver_sql(compiled.string, rows)
    else:
        at = [keys.index(k) for k in compiled.positiontup]
        connection.exec_driver_sql(compiled.string, [tuple(row[i] for i in at) for row in rows])


def _converted(row: tuple, convert: list) -> tuple:
    values = list(row)
    for i, process in convert:
        if values[i] is not None:
            values[i] = process(values[i])
    return tuple(values)
