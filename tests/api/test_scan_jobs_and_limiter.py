"""Scan jobs one at a time (and stale ones let go); the sign-in limiter's back-off."""

from __future__ import annotations

from datetime import timedelta

from app.store.db import session_scope
from app.store.scan_jobs import get_job, mark_job, queue_job, utcnow
from app.web.auth import SigninLimiter


def test_a_second_request_gets_the_job_under_way(db_url) -> None:
    with session_scope(db_url) as session:
        first, new = queue_job(session, "main", "alice")
        second, again = queue_job(session, "main", "bob")
    assert new and not again and second.id == first.id
    with session_scope(db_url) as session:
        mark_job(session, first.id, "running")
        mark_job(session, first.id, "done", scan_id=7)
        third, fresh = queue_job(session, "main", "bob")
    assert fresh and third.id != first.id


def test_a_job_left_running_by_a_dead_server_is_let_go(db_url) -> None:
    with session_scope(db_url) as session:
        stuck, _ = queue_job(session, "main", "alice")
        stuck.created_at = utcnow() - timedelta(hours=2)
        session.add(stuck)
    with session_scope(db_url) as session:
        job, new = queue_job(session, "main", "bob")
        old = get_job(session, stuck.id)
    assert new and job.id != stuck.id
    assert old.state == "failed" and "abandoned" in old.error


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_wait_doubles_after_the_free_failures_and_ends_with_the_window() -> None:
    clock = Clock()
    limiter = SigninLimiter(free=3, window=900, cap=300, clock=clock)
    waits = []
    for _ in range(6):
        waits.append(limiter.wait("a"))
        limiter.failed("a")
    assert waits == [0, 0, 0, 1, 2, 4]
    assert limiter.wait("b") == 0  # another address is not slowed
    clock.now += 8
    assert limiter.wait("a") == 0  # waited its turn
    clock.now += 901
    limiter.failed("a")
    assert limiter.wait("a") == 0  # a quiet window starts the count again
    limiter.succeeded("a")
    assert limiter._failures == {}
