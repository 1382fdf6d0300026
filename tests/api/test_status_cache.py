"""StoreWatch: a commit is noticed even when file sizes and times cannot show it."""

from __future__ import annotations

import os
import sqlite3

from app.web.status_cache import Memo, StoreWatch


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
