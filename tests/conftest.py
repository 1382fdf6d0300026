"""Fixtures shared by the whole suite: every test gets its own migrated database.

The store, API and worker tests (``ON_BOTH``) run twice, on a SQLite file and on a
PostgreSQL database of a server the session starts (tests/postgres.py); the rest
run on SQLite only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store.db import migrate
from app.web.status_cache import forget
from tests.postgres import postgres_db, postgres_server, summary_line  # noqa: F401  (fixtures)

TESTS = Path(__file__).parent
ON_BOTH = ("api", "services", "progress", "reports", "history/test_history_store.py", "test_store_db.py")
SQLITE_ONLY = (
    "services/test_mirror.py",  # no database at all
    "api/test_status_cache.py::test_a_commit_hidden_from_stat_is_seen_in_the_wal_index",  # SQLite's own files
    "history/test_history_store.py::test_other_writers_are_not_held_up_by_a_walk",  # SQLite's one write lock
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_url" in metafunc.fixturenames and _on_both(metafunc.definition.path, metafunc.function.__name__):
        metafunc.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)


def _on_both(path: Path, test: str) -> bool:
    def under(names: tuple[str, ...]) -> bool:
        return any(
            path == TESTS / name or TESTS / name in path.parents or f"{path.relative_to(TESTS)}::{test}" == name
            for name in names
        )

    return under(ON_BOTH) and not under(SQLITE_ONLY)


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database migrated with Alembic to the newest schema: a SQLite file in tmp,
    or (parametrised ``postgresql``) a database of the session's PostgreSQL server."""
    if getattr(request, "param", "sqlite") == "postgresql":
        yield request.getfixturevalue("postgres_db")
        return
    url = f"sqlite:///{tmp_path / 'sawmill.db'}"
    migrate(url)
    yield url
    forget(url)  # the status cache's open -shm file


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter) -> Iterator[None]:
    """After the short summary, just above the counts: PostgreSQL tests that did not run, and why."""
    result = yield
    line = summary_line(terminalreporter.stats.get("skipped", []))
    if line:
        terminalreporter.write_sep("=", line, yellow=True, bold=True)
    return result


@pytest.fixture(autouse=True)
def own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test (and every ``sawmill`` it starts) gets its own SAWMILL_DATA_DIR: no test
    reads or writes the user's data folder, where the default database lives."""
    from app.config import get_settings

    folder = tmp_path / "sawmill-data"
    monkeypatch.setenv("SAWMILL_DATA_DIR", str(folder))
    monkeypatch.delenv("SAWMILL_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()
