"""Answer hot reads from memory until the store changes.

``StoreWatch.version()`` is a cheap fingerprint of the store, checked on every
request without touching the database:

- a generation counter, bumped after any commit in this process that wrote
  (an engine event, so writes from every area count, not just the API's);
- for SQLite, ``os.stat`` of the database file and its WAL, plus the first
  48 bytes of the ``-shm`` wal-index header, whose frame count and salts change
  with every commit by any process (the CLI, another uvicorn worker). The
  header matters because file times are coarse: two commits in one tick after
  a WAL reset can leave size and mtime the same.

For PostgreSQL, where no file tells, a thread asks the server every quarter
second for the first transaction id not yet assigned
(``pg_snapshot_xmax(pg_current_snapshot())``): it moves whenever any session
writes, so another replica's change bumps the counter here within that time,
at the cost of one tiny query per interval and process, none per request.

``Memo`` holds one value per version; when the version moves it rebuilds on
the next request. A database with neither (or a poll that fails) leaves the
counter alone, so a Memo there also expires after ``ttl`` seconds.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool
from sqlalchemy.engine import Engine

from app.store.db import get_engine

T = TypeVar("T")

_WRITES = ("insert", "update", "delete", "replace", "create", "drop", "alter")
POLL = 0.25  # seconds between two asks of PostgreSQL whether anything was written
_WRITE_MARK = text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text")
_watches: dict[str, StoreWatch] = {}
_watches_lock = threading.Lock()


class StoreWatch:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.generation = 0
        self._files = _sqlite_files(database_url)
        self._shm_fd: int | None = None
        self._shm_for = 0
        self._shm_lock = threading.Lock()
        self.polled = False  # true while the PostgreSQL poll answers
        self._closed = threading.Event()
        _listen(get_engine(database_url), self)
        if database_url.startswith("postgresql"):
            # an engine of its own: the app's pool stays the app's, and its statement counters never see the poll
            engine = create_engine(get_engine(database_url).url, poolclass=NullPool)
            first = self._first_mark(engine)  # taken now, before anything is cached: no write falls in a gap
            threading.Thread(target=self._poll, args=(engine, first), name="sawmill-store-watch", daemon=True).start()

    def _first_mark(self, engine: Engine) -> str | None:
        try:
            with engine.connect() as connection:
                mark = connection.execute(_WRITE_MARK).scalar()
            self.polled = True
            return mark
        except Exception:
            return None

    def _poll(self, engine: Engine, last: str | None) -> None:
        """Bump the counter when another process wrote (see the module's docstring)."""
        while not self._closed.is_set():
            try:
                with engine.connect() as connection:
                    while not self._closed.is_set():
                        mark = connection.execute(_WRITE_MARK).scalar()
                        connection.rollback()  # end the read transaction: the next ask sees new commits
                        if mark != last:  # without a first mark (the server was down), any answer bumps
                            self.bump()
                        last, self.polled = mark, True
                        self._closed.wait(POLL)
            except Exception:  # the server went away: say so (Memos expire again), try again later
                self.polled = False
                self._closed.wait(POLL * 8)

    def close(self) -> None:
        """Stop the poll and let the -shm file go (a database that goes away: a test's)."""
        self._closed.set()
        with self._shm_lock:
            self._close_shm()

    def bump(self) -> None:
        self.generation += 1

    def sees_every_write(self) -> bool:
        """Whether the version moves with other processes' writes too (a file, or a live poll)."""
        return self._files is not None or self.polled

    def version(self) -> tuple:
        if self._files is None:
            return (self.generation,)
        db, wal = _fingerprint(self._files[0]), _fingerprint(self._files[1])
        with self._shm_lock:  # pages render in worker threads: one fd, one user at a time
            return (self.generation, db, wal, self._shm_header(wal[0]))

    def _shm_header(self, wal_inode: int) -> bytes:
        # The -shm file is kept open and re-read with one pread; SQLite deletes
        # and remakes it together with the WAL, so a new WAL inode means reopen.
        if self._shm_fd is None or wal_inode != self._shm_for:
            self._close_shm()
            try:
                self._shm_fd, self._shm_for = os.open(self._files[0] + "-shm", os.O_RDONLY), wal_inode
            except OSError:
                return b""
        try:
            return os.pread(self._shm_fd, 48, 0)
        except OSError:
            self._close_shm()
            return b""

    def _close_shm(self) -> None:
        if self._shm_fd is not None:
            os.close(self._shm_fd)
            self._shm_fd = None


def watch_for(database_url: str) -> StoreWatch:
    """The one watch per database URL in this process."""
    with _watches_lock:
        if database_url not in _watches:
            _watches[database_url] = StoreWatch(database_url)
        return _watches[database_url]


def forget(database_url: str) -> None:
    """Close this process's watch of ``database_url``, if it has one."""
    with _watches_lock:
        watch = _watches.pop(database_url, None)
    if watch is not None:
        watch.close()


class Memo(Generic[T]):
    """One value, rebuilt when the store's version moves (or ``ttl`` passes, if set)."""

    def __init__(self, watch: StoreWatch, build: Callable[[], T], ttl: float | None = None) -> None:
        self._watch, self._build, self._ttl = watch, build, ttl
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._value: T | None = None
        self._built_at = 0.0
        self.builds = 0

    def get(self) -> T:
        key = self._watch.version()
        if key == self._key and not self._expired():
            return self._value  # type: ignore[return-value]
        with self._lock:
            # The key is taken before reading, so a write landing mid-build moves
            # the version again and the next request rebuilds: never stale for long.
            key = self._watch.version()
            if key != self._key or self._expired():
                self._value = self._build()
                self._key, self._built_at = key, time.monotonic()
                self.builds += 1
            return self._value  # type: ignore[return-value]

    def _expired(self) -> bool:
        if self._ttl is None and self._watch.sees_every_write():
            return False
        return time.monotonic() - self._built_at > (self._ttl or 2.0)


def _listen(engine: Engine, watch: StoreWatch) -> None:
    def mark(conn, _cursor, statement, *_args) -> None:
        if statement.lstrip()[:7].lower().startswith(_WRITES):
            conn.info["sawmill_wrote"] = True

    def committed(conn) -> None:
        if conn.info.pop("sawmill_wrote", False):
            watch.bump()

    def rolled_back(conn) -> None:
        conn.info.pop("sawmill_wrote", None)

    event.listen(engine, "before_cursor_execute", mark)
    event.listen(engine, "commit", committed)
    event.listen(engine, "rollback", rolled_back)


def _sqlite_files(url: str) -> tuple[str, str] | None:
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url[len(prefix):] in ("", ":memory:"):
        return None
    path = url[len(prefix):].split("?", 1)[0]
    return (path, path + "-wal")


def _fingerprint(path: str) -> tuple[int, int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (0, 0, 0)
    return (st.st_ino, st.st_size, st.st_mtime_ns)
