"""Answer hot reads from memory until the store changes.

``StoreWatch.version()`` is a cheap fingerprint of the store, checked on every
request without touching the database:

- a generation counter, bumped once any commit in this process that wrote is
  done (``app.store.db.after_write``: writes from every area count, not just
  the API's, and a reader woken by the bump finds the rows);
- for SQLite, ``os.stat`` of the database file and its WAL, plus the first
  48 bytes of the ``-shm`` wal-index header, whose frame count and salts change
  with every commit by any process (the CLI, another uvicorn worker). The
  header matters because file times are coarse: two commits in one tick after
  a WAL reset can leave size and mtime the same.

For PostgreSQL, where no file tells, every Sawmill process announces each
commit that wrote on a channel of its database (``NOTIFY``, see
``app.store.db``), and a thread here listens: another replica's or the CLI's
change bumps the counter as soon as it is committed, and nothing written to
other databases of the same server counts. Writes made without Sawmill (psql
by hand) are not announced; a migration is.

``Memo`` holds one value per version; when the version moves it rebuilds on
the next request. A database with neither (or a listener that lost its server) leaves the
counter alone, so a Memo there also expires after ``ttl`` seconds.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from app.store.db import CHANGES, PROCESS, after_write, get_engine

T = TypeVar("T")

LISTEN_WAIT = 0.25  # seconds the listening thread waits for an announcement before it looks at ``close``
PING_EVERY = 20  # waits between two pings of the listening connection: a silent, dead link is noticed
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
        self.listening = False  # true while the PostgreSQL listener is connected
        self.heard = 0  # announcements the listener received, this process's own included
        self._closed = threading.Event()
        after_write(get_engine(database_url), self.bump)  # this process's own commits, at once
        if database_url.startswith("postgresql"):
            dialect = get_engine(database_url).dialect  # a connection of its own, outside the app's pool
            cargs, cparams = dialect.create_connect_args(get_engine(database_url).url)
            connect = functools.partial(dialect.loaded_dbapi.connect, *cargs, **cparams)
            first = self._connect(connect)  # listening before anything is cached: no write falls in a gap
            threading.Thread(target=self._listen, args=(connect, first), name="sawmill-store-watch", daemon=True).start()

    def _connect(self, connect: Callable):
        try:
            connection = connect(autocommit=True)
            connection.execute(f"LISTEN {CHANGES}")
        except Exception:
            self.listening = False
            return None
        self.listening = True
        return connection

    def _listen(self, connect: Callable, connection) -> None:
        """Bump the counter when another process committed a write (see the module's docstring)."""
        while not self._closed.is_set():
            if connection is None:
                self._closed.wait(LISTEN_WAIT * 8)
                connection = self._connect(connect)
                if connection is None:
                    continue
                self.bump()  # what was announced while nobody listened is lost: assume it changed
            try:
                waits = 0
                while not self._closed.is_set():
                    for notice in connection.notifies(timeout=LISTEN_WAIT):
                        self.heard += 1
                        if notice.payload != PROCESS:  # our own commits were counted when they were made
                            self.bump()
                    waits += 1
                    if waits % PING_EVERY == 0:
                        connection.execute("SELECT 1")
            except Exception:  # the server went away: say so (Memos expire again), listen again later
                self.listening = False
                connection.close()
                connection = None
        if connection is not None:
            connection.close()

    def close(self) -> None:
        """Stop listening and let the -shm file go (a database that goes away: a test's)."""
        self._closed.set()
        with self._shm_lock:
            self._close_shm()

    def bump(self) -> None:
        self.generation += 1

    def sees_every_write(self) -> bool:
        """Whether the version moves with other processes' writes too (a file, or a live listener)."""
        return self._files is not None or self.listening

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
