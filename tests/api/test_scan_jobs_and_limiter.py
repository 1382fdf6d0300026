"""The sign-in limiter's back-off (the job queue's tests are in tests/services/test_queue.py)."""

from __future__ import annotations

from app.web.auth import SigninLimiter


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
