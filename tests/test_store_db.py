import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from pydantic import ValidationError
from sqlalchemy import inspect

from app.config import Settings
from app.store.db import alembic_config, driver_url, get_engine, head_revision, migrate


def test_migrate_creates_the_schema_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'sawmill.db'}"
    migrate(url)
    migrate(url)
    tables = set(inspect(get_engine(url)).get_table_names())
    assert {"scan", "module_result", "alembic_version"} <= tables


def test_a_migration_that_fails_on_sqlite_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    """A migration cut short (an error, Ctrl-C, a crash) must not leave tables behind without
    their revision: every later command would fail on "table already exists"."""
    path = tmp_path / "sawmill.db"
    url = f"sqlite:///{path}"
    with sqlite3.connect(path) as db:  # a table the second migration makes last, already there: it fails late
        db.execute("CREATE TABLE audit_entry (id INTEGER PRIMARY KEY)")
    with pytest.raises(sa.exc.OperationalError, match="audit_entry already exists"):
        migrate(url)
    with closing(sqlite3.connect(path)) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"audit_entry"}  # the first migration's tables, and its revision, went with the failure
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE audit_entry")
    migrate(url)  # and the next run starts again from nothing, to the end
    assert {"scan", "audit_entry", "report"} <= set(inspect(get_engine(url)).get_table_names())


def test_processes_migrating_one_new_sqlite_file_at_once_take_turns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sawmill.db'}"
    code = f"from app.store.db import migrate; migrate({url!r})"
    runs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True) for _ in range(3)]
    errors = [run.communicate(timeout=120)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], errors
    with closing(sqlite3.connect(tmp_path / "sawmill.db")) as db:
        assert [row[0] for row in db.execute("SELECT version_num FROM alembic_version")] == [head_revision()]


def test_settings_refuse_an_unknown_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAWMILL_DATABASE_URL", "mysql://nowhere")
    with pytest.raises(ValidationError, match="sqlite"):
        Settings()


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u:p%40ss@db.example/sawmill", "postgresql+psycopg://u:p%40ss@db.example/sawmill"),
        ("postgresql:///sawmill?host=/run/postgresql", "postgresql+psycopg:///sawmill?host=/run/postgresql"),
        ("postgresql+psycopg2://u@db/sawmill", "postgresql+psycopg2://u@db/sawmill"),  # a driver named: kept
        ("sqlite:////var/lib/sawmill.db", "sqlite:////var/lib/sawmill.db"),
    ],
)
def test_a_plain_postgresql_url_goes_through_psycopg_3(given: str, used: str) -> None:
    assert driver_url(given) == used
    assert alembic_config(given).get_main_option("sqlalchemy.url") == used


def test_the_engine_of_a_plain_postgresql_url_uses_psycopg_3() -> None:
    assert get_engine("postgresql://u@db.example/sawmill").url.drivername == "postgresql+psycopg"


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


# -- every revision, one by one, both ways, with rows in the tables -------------------

OWNER = "/srv/platform"  # the repository of the one scan: 0007 files every older row under it
MOVED = ("audit_entry", "backlog_item", "blocker", "capability_item", "migration_entry", "milestone",
         "milestone_task", "next_step", "progress_layout", "progress_module")  # fmt: skip


def test_every_revision_upgrades_and_downgrades_one_by_one_carrying_the_rows(db_url: str) -> None:
    """From base to head one revision at a time (a row put in each new table), back to base the
    same way, and up again: every step keeps every row of every table it keeps, column by column."""
    config = alembic_config(db_url)
    command.downgrade(config, "base")
    engine = sa.create_engine(driver_url(db_url), poolclass=sa.pool.NullPool)
    revisions = list(reversed(list(ScriptDirectory.from_config(config).walk_revisions())))
    assert len(revisions) >= 9 and _tables(engine) == {"alembic_version"}

    for revision in revisions:
        before = _rows(engine)
        command.upgrade(config, revision.revision)
        _assert_carried(before, _rows(engine), f"upgrade to {revision.revision}")
        _fill_new_tables(engine, before)
    stored = _rows(engine)
    assert all(len(stored[t]) == 1 for t in stored if t != "alembic_version"), stored
    for table in MOVED:  # 0007 gave the rows stored before it to the repository scanned last
        assert [row["repository"] for row in stored[table]] == [OWNER], table

    for revision in reversed(revisions):
        before = _rows(engine)
        # a merge goes back to its parents; any other revision one step down its own branch
        target = revision.down_revision[0] if revision.is_merge_point else f"{revision.revision}@-1"
        command.downgrade(config, target)
        _assert_carried(before, _rows(engine), f"downgrade of {revision.revision}")
    assert _tables(engine) == {"alembic_version"}

    command.upgrade(config, "heads")
    assert _tables(engine) == set(stored)
    engine.dispose()


def _tables(engine: sa.Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _rows(engine: sa.Engine) -> dict[str, list[dict]]:
    """Every row of every table, as dicts, in a stable order."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return {
            name: sorted((dict(r._mapping) for r in connection.execute(sa.select(table))), key=repr)
            for name, table in metadata.tables.items()
        }


def _assert_carried(before: dict[str, list[dict]], after: dict[str, list[dict]], step: str) -> None:
    """A table the step keeps keeps its rows; a column it keeps keeps its values."""
    for table in set(before) & set(after) - {"alembic_version"}:
        assert len(after[table]) == len(before[table]), f"{step}: rows of {table}"
        kept = set(before[table][0] if before[table] else ()) & set(after[table][0] if after[table] else ())
        project = lambda rows: sorted(({c: r[c] for c in kept} for r in rows), key=repr)  # noqa: E731
        assert project(after[table]) == project(before[table]), f"{step}: values of {table}"


def _fill_new_tables(engine: sa.Engine, before: dict[str, list[dict]]) -> None:
    """One row in each table the last step created, every column set (parents first: ids are 1)."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            if table.name not in before and table.name != "alembic_version":
                connection.execute(table.insert().values(_row(table)))


def _row(table: sa.Table) -> dict:
    values = {}
    for column in table.columns:
        if column.primary_key and isinstance(column.type, sa.Integer) and len(table.primary_key.columns) == 1:
            continue  # the database numbers it
        values[column.name] = _value(table.name, column)
    return values


def _value(table: str, column: sa.Column) -> object:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return True
    if isinstance(kind, sa.Integer):
        return 1
    if isinstance(kind, sa.Float):
        return 0.5
    if isinstance(kind, sa.DateTime):
        return datetime(2026, 11, 29, 6, 30, tzinfo=UTC)
    if isinstance(kind, sa.Date):
        return date(2026, 12, 24)
    if isinstance(kind, sa.JSON):
        return {"carried": [table, column.name]}
    return OWNER if column.name == "repository" else f"{table}.{column.name}"


def test_a_history_stored_twice_by_the_old_race_is_dropped_and_seqs_are_unique_from_then_on(db_url: str) -> None:
    """Before 0012's claim two updates at once could store the same events under the same seqs.
    0013 drops such a history (its events and state: the next update walks it again) and keeps
    the others; from then on the database refuses a second event at a seq."""
    config = alembic_config(db_url)
    command.downgrade(config, "0012")
    engine = sa.create_engine(driver_url(db_url), poolclass=sa.pool.NullPool)
    when = datetime(2026, 11, 29, 6, 30, tzinfo=UTC)

    def event(repository: str, seq: int) -> dict:
        return {"repository": repository, "seq": seq, "path": "apps/media", "kind": "migrated", "regression": False,
                "commit_sha": f"{seq:040x}", "commit_date": when, "author": "a", "subject": "s"}  # fmt: skip

    events = sa.table(*("history_event", *map(sa.column, event("", 0))))
    states = sa.table("history_state", *map(sa.column, ("repository", "branch", "last_commit", "updated_at")))
    with engine.begin() as connection:
        connection.execute(events.insert(), [event("/srv/doubled", s) for s in (0, 1, 1, 2)])
        connection.execute(events.insert(), [event("/srv/clean", s) for s in (0, 1, 2)])
        for repository in ("/srv/doubled", "/srv/clean"):
            connection.execute(
                states.insert().values(repository=repository, branch="main", last_commit="c" * 40, updated_at=when)
            )

    command.upgrade(config, "heads")
    with engine.connect() as connection:
        kept = connection.execute(sa.text("SELECT repository, seq FROM history_event ORDER BY repository, seq"))
        assert kept.all() == [("/srv/clean", 0), ("/srv/clean", 1), ("/srv/clean", 2)]
        assert connection.execute(sa.text("SELECT repository FROM history_state")).scalars().all() == ["/srv/clean"]
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(events.insert(), [event("/srv/clean", 2)])
    engine.dispose()


def test_a_nested_block_opened_before_any_write_is_undone_by_the_rollback(db_url: str) -> None:
    """Python's sqlite3 opens a transaction only before a write: a SAVEPOINT emitted first used to
    open its own, and its RELEASE committed the block's rows past the session's rollback (a report
    row left without its tests, retries answered "already stored")."""
    from sqlmodel import Session

    with Session(get_engine(db_url)) as session:
        with session.begin_nested():
            session.execute(sa.text("INSERT INTO progress_lock (repository, writes) VALUES ('/srv/x', 1)"))
        assert session.execute(sa.text("SELECT count(*) FROM progress_lock")).scalar_one() == 1
        session.rollback()
    with get_engine(db_url).connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM progress_lock")).scalar_one() == 0
