"""Writers of one repository's progress data take turns.

A write reads a section (its rows' places, whether its `###` heading exists)
and then writes what follows from it. Two writers interleaved read the same
section and both append, or one restacks rows the other (an import) has just
deleted: duplicate positions, a heading twice, a StaleDataError. So every
write starts by updating the repository's ``progress_lock`` row, before it
reads anything:

- on SQLite that first write takes the database's write lock (a deferred
  transaction begins at its first write; the SELECTs before it ran outside
  any transaction), so it is BEGIN IMMEDIATE in effect, and the reads after it
  see every earlier writer's commit;
- on PostgreSQL it locks that one row until commit: writers of the same
  repository wait for each other, other repositories do not, and under READ
  COMMITTED each read after it sees the previous writer's commit.

One statement, the same on both databases. Taking a turn again in the same
transaction is harmless: the row (or the database's lock) is already its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from app.store.errors import Busy
from app.store.scope import repository_of

T = TypeVar("T")
ATTEMPTS = 3
# PostgreSQL's serialization failure and deadlock: the transaction is rolled back, trying again is safe
RETRY_STATES = {"40001", "40P01"}

_TAKE = text(
    "INSERT INTO progress_lock (repository, writes) VALUES (:key, 1) "
    "ON CONFLICT (repository) DO UPDATE SET writes = progress_lock.writes + 1"
)


def take_turn(session: Session) -> None:
    """Wait until no other transaction writes this repository's progress data, and hold that until commit."""
    session.connection().execute(_TAKE, {"key": repository_of(session)})


def with_retries(write: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """``write()`` (one whole transaction), again when the database says another writer was in
    the way; Busy (a 503, never a 500) when it still is after ``attempts``."""
    for attempt in range(1, attempts + 1):
        try:
            return write()
        except (OperationalError, StaleDataError) as exc:
            if not transient(exc):
                raise
            if attempt == attempts:
                raise Busy("the store is busy with other writes; nothing was changed, try again") from None
    raise AssertionError("unreachable")


def transient(exc: Exception) -> bool:
    """A write that lost a race with another (SQLite still locked after its busy timeout; a
    PostgreSQL serialization failure or deadlock; a row gone under an ORM update)."""
    if isinstance(exc, StaleDataError):
        return True
    cause = getattr(exc, "orig", None)
    if getattr(cause, "sqlstate", None) in RETRY_STATES:
        return True
    return "database is locked" in str(cause) or "database is busy" in str(cause)
