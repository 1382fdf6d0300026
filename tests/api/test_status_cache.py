"""StoreWatch: a commit is noticed even when file sizes and times cannot show it."""

from __future__ import annotations

import os
import sqlite3

from app.store.db import CHANGES, after_write, get_engine, migrate, session_scope
from app.store.tokens import create_token, list_tokens
from app.web.status_cache import Memo, StoreWatch
from tests.serve import wait_for


def test_a_commit_hidden_from_stat_is_seen_in_the_wal_index(db_url: str) -> None:
    path = db_url.removeprefix("sqlite:///")
    watch = StoreWatch(db_url)
    other = sqlite3.connect(path)  # another writer, outside this process's engine
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE scratch (v TEXT)")
    other.execute("INSERT INTO scratch VALUES ('a')")
    other.commit()
    other.execute("PRAGMA wal_checkpoint(RESTART)")  # the next commit rewrites the WAL from its start
    before = watch.version()
    files = {p: os.stat(p) for p in (path, path + "-wal")}
    other.execute("UPDATE scratch SET v = 'b'")
    other.commit()
    for p, st in files.items():  # as if both commits fell in one clock tick
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert [os.stat(p).st_size for p in files] == [st.st_size for st in files.values()]
    assert watch.version() != before
    other.close()


def test_memo_rebuilds_only_when_the_version_moves(db_url: str) -> None:
    watch = StoreWatch(db_url)
    values = iter(range(100))
    memo = Memo(watch, lambda: next(values))
    assert [memo.get(), memo.get(), memo.get()] == [0, 0, 0]
    watch.bump()
    assert memo.get() == 1 and memo.builds == 2


def test_a_commit_is_announced_only_once_it_is_done(db_url: str) -> None:
    seen: list[int] = []

    def count_tokens() -> None:  # a reader woken by the announcement, on a connection of its own
        with session_scope(db_url) as session:
            seen.append(len(list_tokens(session)))

    after_write(get_engine(db_url), count_tokens)
    with session_scope(db_url) as session:
        create_token(session, "alice")
    assert seen == [1]
    with session_scope(db_url) as session:  # a read-only transaction announces nothing
        list_tokens(session)
    assert seen == [1]


def test_this_processs_own_commit_moves_the_version_once(db_url: str) -> None:
    watch = StoreWatch(db_url)
    with session_scope(db_url) as session:
        create_token(session, "alice")
    assert watch.generation == 1
    if db_url.startswith("postgresql"):  # its own announcement comes back to the listener too: heard, not counted
        wait_for(lambda: watch.heard >= 1, "the listener to hear it", 10)
        assert watch.generation == 1
    watch.close()


def test_writes_to_another_database_are_not_this_stores_change(db_url: str, request, tmp_path) -> None:
    if db_url.startswith("postgresql"):  # the same server, another database
        server = request.getfixturevalue("postgres_server")
        other = server.url(server.create_database())
    else:
        other = f"sqlite:///{tmp_path / 'other.db'}"
        migrate(other)
    watch = StoreWatch(db_url)
    before = watch.version()
    with session_scope(other) as session:
        create_token(session, "elsewhere")
    if db_url.startswith("postgresql"):
        # a barrier: an announcement on this database, sent after the other database's commit, from
        # "another process"; once the listener has heard it, anything the other write caused has shown
        import psycopg

        with psycopg.connect(db_url, autocommit=True) as connection:
            connection.execute("SELECT pg_notify(%s, 'barrier')", (CHANGES,))
        wait_for(lambda: watch.heard >= 1, "the listener to hear it", 10)
        assert watch.generation == 1  # the barrier alone
    else:
        assert watch.version() == before
    watch.close()
