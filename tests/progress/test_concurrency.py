"""Writers at the same time, on SQLite and on PostgreSQL: positions and sections stay consistent.

Unserialised, 15 s of concurrent creates left 18 `###` sections for 5 categories
and duplicate positions, and an import racing API writes made the backlog
restack fail with StaleDataError. Each writer here is a thread with its own
session, as each request of the server is.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy import text

from app.store import progress_read as read
from app.store.backlog import create_backlog_item, delete_backlog_item, move_backlog_item
from app.store.blockers import add_blocker
from app.store.db import get_engine, migrate
from app.store.errors import Busy, NotFound
from app.store.progress_doc import export_document, import_document
from app.store.turns import with_retries
from tests.progress.conftest import run

CATEGORIES = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon"]
WRITERS, EACH = 10, 6


def at_once(work: Callable[[int], None], count: int) -> list[BaseException]:
    """``work(n)`` in ``count`` threads released together; the exceptions they raised."""
    start, errors = threading.Barrier(count), []

    def run_one(n: int) -> None:
        start.wait()
        try:
            work(n)
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            errors.append(exc)

    threads = [threading.Thread(target=run_one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return errors


def places(url: str, table: str, key: str) -> list[tuple]:
    with get_engine(url).connect() as connection:
        return list(connection.execute(text(f"SELECT {key}, part, position FROM {table}")))


def assert_consistent(url: str) -> str:
    """Positions unique and 0..n-1 within each section run, one slot row per section, no heading twice."""
    for table, key in (("backlog_item", "category"), ("blocker", "status")):
        rows = places(url, table, key)
        runs: dict[tuple, list[int]] = {}
        for section, part, position in rows:
            runs.setdefault((section, part), []).append(position)
        for section, positions in runs.items():
            assert sorted(positions) == list(range(len(positions))), (table, section, sorted(positions))
    with get_engine(url).connect() as connection:
        slots = Counter(connection.execute(text(
            "SELECT slot_kind, slot_key, slot_part FROM progress_layout WHERE kind = 'slot'")))  # fmt: skip
    assert [s for s, n in slots.items() if n > 1] == []
    exported = run(url, export_document)
    headings = Counter(line for line in exported.splitlines() if line.startswith("#"))
    assert [h for h, n in headings.items() if n > 1] == []
    return exported


def test_concurrent_creates_in_new_categories_make_one_section_each(db_url: str) -> None:
    def work(n: int) -> None:
        for i in range(EACH):
            run(db_url, create_backlog_item, CATEGORIES[(n + i) % len(CATEGORIES)], f"item {n}.{i}", f"w{n}")

    assert at_once(work, WRITERS) == []
    exported = assert_consistent(db_url)
    assert sorted(line for line in exported.splitlines() if line.startswith("### ")) == sorted(
        f"### {c}" for c in CATEGORIES
    )
    titles = [i["title"] for g in run(db_url, read.backlog) for items in g["items"].values() for i in items]
    assert sorted(titles) == sorted(f"item {n}.{i}" for n in range(WRITERS) for i in range(EACH))


def test_creates_moves_deletes_and_blockers_at_once_keep_positions_unique(seeded: str) -> None:
    mine: dict[int, list[int]] = {n: [] for n in range(WRITERS)}

    def work(n: int) -> None:
        for i in range(EACH):
            item = run(seeded, create_backlog_item, "Testing Improvements", f"t {n}.{i}", f"w{n}")
            mine[n].append(item.id)
            if i % 2:
                run(seeded, move_backlog_item, mine[n][0], f"w{n}", status="doing", position=0)
            if i % 3 == 2:
                run(seeded, delete_backlog_item, mine[n].pop(), f"w{n}")
            if n % 3 == 0:
                run(seeded, add_blocker, f"blocker {n}.{i}", f"w{n}")

    assert at_once(work, WRITERS) == []
    assert_consistent(seeded)


def test_an_import_racing_writers_fails_none_of_them(seeded: str, seed: bytes) -> None:
    """The import removes and renumbers rows the writers restack: each write waits its turn."""
    def work(n: int) -> None:
        if n == 0:
            for _ in range(3):
                run(seeded, import_document, seed, who="importer")
            return
        for i in range(EACH):
            item = run(seeded, create_backlog_item, "Infrastructure Evolution", f"r {n}.{i}", f"w{n}")
            run(seeded, move_backlog_item, item.id, f"w{n}", position=0)

    errors = at_once(work, WRITERS)
    # an item the import removed before its move is a clear "no backlog item", nothing worse
    assert [e for e in errors if not isinstance(e, NotFound)] == []
    assert_consistent(seeded)


def test_a_write_that_finds_sqlite_locked_is_tried_again_and_then_answers_busy(tmp_path) -> None:
    """Past SQLite's busy timeout (0 here, 30 s in the app) the write is tried again; still locked, it is
    Busy (a 503 with Retry-After), never an OperationalError's 500."""
    path = tmp_path / "locked.db"
    migrate(f"sqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None)
    impatient = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0}, poolclass=sa.pool.NullPool)
    attempts: list[int] = []

    def write(release_on: int | None):
        def attempt() -> str:
            attempts.append(1)
            if len(attempts) == release_on:
                holder.execute("ROLLBACK")
            with impatient.begin() as connection:
                connection.execute(sa.text("INSERT INTO progress_lock (repository, writes) VALUES ('r', 1) "
                                           "ON CONFLICT (repository) DO UPDATE SET writes = writes + 1"))  # fmt: skip
            return "written"
        return attempt

    holder.execute("BEGIN IMMEDIATE")
    assert with_retries(write(release_on=2)) == "written" and len(attempts) == 2
    attempts.clear()
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(Busy) as busy:
        with_retries(write(release_on=None))
    assert len(attempts) == 3 and busy.value.status == 503 and busy.value.headers == {"Retry-After": "1"}
    holder.execute("ROLLBACK")
    holder.close()
    impatient.dispose()
