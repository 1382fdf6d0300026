"""What a migration's history adds up to: the burndown series and a forecast.

Pure functions over ``Transition`` lists (oldest first); the store feeds them
its events, the web draws them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.scanner.history import Transition, replay
from app.scanner.model import Status

WINDOW_DAYS = 90


@dataclass(frozen=True)
class Point:
    """The state after one commit: modules not yet migrated, out of ``total``."""

    date: datetime
    remaining: int
    total: int
    commit: str


@dataclass(frozen=True)
class Forecast:
    remaining: int
    migrated_in_window: int  # net: migrations minus regressions out of migrated
    per_week: float
    done_by: datetime | None
    message: str


def burndown(transitions: Iterable[Transition]) -> list[Point]:
    """One point per commit that moved something, oldest first."""
    points: list[Point] = []
    state: dict[str, str] = {}
    batch: list[Transition] = []
    for t in [*transitions, None]:
        if batch and (t is None or t.commit != batch[0].commit):
            state = replay(batch, state)
            remaining = sum(1 for s in state.values() if s != Status.MIGRATED)
            points.append(Point(batch[0].date, remaining, len(state), batch[0].commit))
            batch = []
        if t is not None:
            batch.append(t)
    return points


def forecast(
    transitions: Sequence[Transition], points: Sequence[Point], as_of: datetime, window_days: int = WINDOW_DAYS
) -> Forecast:
    """A completion date from the net migrations of the last ``window_days``."""
    remaining = points[-1].remaining if points else 0
    since = as_of - timedelta(days=window_days)
    net = sum(_progress(t) for t in transitions if since < t.date <= as_of)
    per_day = net / window_days
    if not points:
        return Forecast(0, 0, 0.0, None, "no modules yet")
    if remaining == 0:
        return Forecast(0, net, per_day * 7, None, "every module is migrated")
    if net <= 0:
        return Forecast(remaining, net, 0.0, None, f"no progress in {window_days} days")
    done_by = as_of + timedelta(days=remaining / per_day)
    message = f"{remaining} to go at {per_day * 7:.1f} a week: done around {done_by:%Y-%m-%d}"
    return Forecast(remaining, net, per_day * 7, done_by, message)


def _progress(t: Transition) -> int:
    """+1 for a module that became migrated, -1 for one that left migrated."""
    was = t.from_status == Status.MIGRATED
    now = t.to_status == Status.MIGRATED
    if t.from_status is None or t.to_status is None:  # born or removed: no migration work done
        return 0
    return int(now) - int(was)
