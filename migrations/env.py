"""Alembic's environment: runs migrations against the URL it is given.

The URL comes from the Alembic config that ``app.store.db.migrate`` builds,
or, for ``alembic`` run by hand from the project root, from Settings.
"""

from alembic import context
from sqlalchemy import engine_from_config, pool
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
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
