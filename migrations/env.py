"""Alembic's environment: runs migrations against the URL it is given.

The URL comes from the Alembic config that ``app.store.db.migrate`` builds,
or, for ``alembic`` run by hand from the project root, from Settings.
"""

from alembic import context
from sqlalchemy import engine_from_config, event, pool
from sqlmodel import SQLModel

import app.store.models  # noqa: F401  (registers every table on SQLModel.metadata)

config = context.config
url = config.get_main_option("sqlalchemy.url")
if not url:
    from app.config import get_settings

    url = get_settings().database_url
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))

target_metadata = SQLModel.metadata


def run_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    sqlite = url.startswith("sqlite")
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
        **({"connect_args": {"timeout": 30}} if sqlite else {}),  # another process's migration: waited for, as the app waits
    )
    if sqlite:
        _one_transaction(connectable)
    with connectable.connect() as connection:
        # the whole upgrade in one transaction, on SQLite as on PostgreSQL: cut short, it leaves the
        # database as it was, never tables without the revision that made them
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True, transactional_ddl=True
        )
        with context.begin_transaction():
            context.run_migrations()


def _one_transaction(engine) -> None:
    """Python's sqlite3 commits before and runs outside any transaction each CREATE, DROP and
    ALTER: it is told to begin none, and SQLAlchemy's begin sends one that holds them all.
    IMMEDIATE takes the write lock first, so a second process migrating at once waits, then
    reads the revision the first one committed."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


if context.is_offline_mode():
    run_offline()
else:
    run_online()
