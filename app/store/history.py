"""Migration history in the store: events, the last processed commit, branches in flight.

Persistence only: ``app.services.history`` walks git and hands over what it
found; this module stores it and reads it back for the pages and the CLI.
A scan of an older commit reads the events "up to" a seq: the cut stored on
its ``Scan`` row.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Index, bindparam, text
from sqlmodel import Field, Session, delete, select

from app.scanner.history import Transition
from app.scanner.history_metrics import Forecast, Point, burndown, forecast
from app.scanner.history_scan import BranchProgress
from app.store.db import insert_many
from app.store.scope import Table


_EVENT_COLUMNS = [
    "repository", "seq", "path", "from_status", "to_status", "kind", "renamed_from", "regression",
    "commit_sha", "commit_date", "author", "subject", "pr",
]  # fmt: skip


class HistoryEvent(Table, table=True):
    __tablename__ = "history_event"
    # one event per seq: two updates at once can never both store theirs (it also serves lookups by repository)
    __table_args__ = (Index("ux_history_event_repository_seq", "repository", "seq", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    repository: str
    seq: int  # order along the branch: events replay in seq order
    path: str  # the module's path at that commit
    from_status: str | None = None  # None: the module was born
    to_status: str | None = None  # None: the module was removed
    kind: str
    renamed_from: str | None = None
    regression: bool = False
    commit_sha: str
    commit_date: datetime
    author: str
    subject: str
    pr: int | None = None

    def transition(self) -> Transition:
        return Transition(
            path=self.path, from_status=self.from_status, to_status=self.to_status, kind=self.kind,
            commit=self.commit_sha, date=self.commit_date, author=self.author, subject=self.subject,
            pr=self.pr, renamed_from=self.renamed_from, regression=self.regression,
        )  # fmt: skip


class HistoryState(Table, table=True):
    __tablename__ = "history_state"

    id: int | None = Field(default=None, primary_key=True)
    repository: str = Field(index=True, unique=True)
    branch: str
    last_commit: str
    updated_at: datetime
    note: str | None = None  # what the last update had to say (a rewritten history)
    config_digest: str | None = None  # the rules the events were computed with (None: stored before they were kept)


class HistoryBranch(Table, table=True):
    """A module legacy on the default branch that another branch's own commits migrate."""

    __tablename__ = "history_branch"

    id: int | None = Field(default=None, primary_key=True)
    repository: str = Field(index=True)
    path: str
    branch: str
    commit_sha: str
    status: str  # the module's status on that branch
    stale: bool = False  # idle too long: listed apart, never counted as in flight


# -- writing: what the history use case (app.services.history) hands over ----


# The claim writes. On SQLite that takes the database's write lock, and the reads after it see every
# earlier update's commit; on PostgreSQL a second claim for the same repository waits on the row,
# new or old, until the first update commits, then reads what it stored. A row made here is filled
# in by save_state before the commit; no other transaction ever sees it empty.
_CLAIM = text(
    "INSERT INTO history_state (repository, branch, last_commit, updated_at) VALUES (:key, '', '', :now) "
    "ON CONFLICT (repository) DO NOTHING"
).bindparams(bindparam("now", type_=HistoryState.__table__.c.updated_at.type))


def lock_state(session: Session, repository: str) -> HistoryState:
    """The stored state as it is now (``last_commit`` empty before any update), held until commit:
    an update claims it once its walk is done, and finds there whether another stored first."""
    session.connection().execute(_CLAIM, {"key": repository, "now": _now()})
    query = select(HistoryState).where(HistoryState.repository == repository).with_for_update()
    # what the row holds now, not what this session read of it before the claim
    return session.exec(query.execution_options(populate_existing=True)).one()


def stored_events(session: Session, repository: str) -> list[HistoryEvent]:
    """Every stored event of ``repository``, in seq order."""
    query = select(HistoryEvent).where(HistoryEvent.repository == repository).order_by(HistoryEvent.seq)
    return list(session.exec(query))


def drop_events(session: Session, ids: Collection[int]) -> None:
    """Delete the events ``ids`` (those of commits a rewritten history lost, or all, to walk again)."""
    if ids:
        session.exec(delete(HistoryEvent).where(HistoryEvent.id.in_(list(ids))))


def append_events(session: Session, repository: str, seq: int, transitions: list[Transition]) -> None:
    """Store ``transitions`` as the events numbered from ``seq``, in one executemany through the
    driver (``db.insert_many``): a backfill's hundreds of ORM objects, each validated, cost more
    than the walk that found them, and SQLAlchemy's own executemany half as much again
    (652 events: 7.0 -> 4.8 ms)."""
    if transitions:
        rows = [
            (repository, seq + offset, t.path, t.from_status, t.to_status, t.kind, t.renamed_from, t.regression,
             t.commit, t.date, t.author, t.subject, t.pr)
            for offset, t in enumerate(transitions)
        ]  # fmt: skip
        insert_many(session.connection(), HistoryEvent.__table__, _EVENT_COLUMNS, rows)


def replace_branches(session: Session, repository: str, found: list[BranchProgress]) -> None:
    session.exec(delete(HistoryBranch).where(HistoryBranch.repository == repository))
    for item in found:
        session.add(
            HistoryBranch(
                repository=repository, path=item.path, branch=item.branch, commit_sha=item.commit,
                status=item.status, stale=item.stale,
            )
        )  # fmt: skip


def save_state(
    session: Session,
    state: HistoryState,
    branch: str,
    last_commit: str,
    note: str | None,
    config_digest: str,
) -> HistoryState:
    """Record that the history ``state`` (from ``lock_state``) now runs to ``last_commit`` of
    ``branch``, computed with the rules ``config_digest`` names."""
    state.branch, state.last_commit, state.updated_at, state.note = branch, last_commit, _now(), note
    state.config_digest = config_digest
    session.add(state)
    session.flush()
    return state


def _now() -> datetime:
    return datetime.now(UTC)


# -- reading ---------------------------------------------------------------


@dataclass
class HistoryView:
    """Everything the pages and the CLI show, as plain data."""

    events: list[dict]
    points: list[Point]
    forecast: Forecast
    regressions: list[dict]  # regressions that still stand
    branches: list[dict]  # in flight: counted
    note: str | None
    last_commit: str | None
    stale_branches: list[dict] = field(default_factory=list)  # idle too long: listed apart, not counted


def events(session: Session, repository: str, module: str | None = None, upto: int | None = None) -> list[dict]:
    """Stored events, oldest first, as dicts (the ``sawmill history --json`` shape).

    ``module`` is the module's current path (renames followed); with a
    ``module``, only its own timeline, including what happened under older names.
    ``upto``: only the events up to that seq (a scan of an older commit); None: all.
    """
    rows = _upto(stored_events(session, repository), upto)
    current = _current_names(rows)
    out = [_event_dict(e, current.get((e.path, e.seq), e.path)) for e in rows]
    return [e for e in out if module is None or e["module"] == module]


def history_view(
    session: Session, repository: str, as_of: datetime | None = None, upto: int | None = None
) -> HistoryView:
    """The history as of ``as_of`` (default now); ``upto`` cuts it as ``events`` does."""
    rows = _upto(stored_events(session, repository), upto)
    transitions = [e.transition() for e in rows]
    points = burndown(transitions)
    state = history_state(session, repository)
    current = _current_names(rows)
    all_events = [_event_dict(e, current.get((e.path, e.seq), e.path)) for e in rows]
    return HistoryView(
        events=all_events,
        points=points,
        forecast=forecast(transitions, points, as_of or _now()),
        regressions=_standing_regressions(all_events),
        branches=branches(session, repository),
        note=state.note if state else None,
        last_commit=state.last_commit if state else None,
        stale_branches=branches(session, repository, stale=True),
    )


def fates(session: Session, repository: str, upto: int | None = None) -> dict[str, dict]:
    """Every path the history has seen -> ``{"module": the module's newest path, "removed":
    the event that removed it, or None while it lives}``. A path renamed away points at its
    new name; a path whose module was deleted points at its removal (a retired module)."""
    rows = events(session, repository, upto=upto)
    last: dict[str, dict] = {}
    for event in rows:
        last[event["module"]] = event
    return {
        e["path"]: {"module": e["module"], "removed": last[e["module"]] if last[e["module"]]["kind"] == "removed" else None}
        for e in rows
    }


def open_regressions(session: Session, repository: str, upto: int | None = None) -> list[dict]:
    """Regression events whose module has not moved since: what ``--fail-on-regression`` fails on."""
    return _standing_regressions(events(session, repository, upto=upto))


def history_note(session: Session, repository: str) -> str | None:
    """What the last update had to say (a rewritten history), if anything."""
    state = history_state(session, repository)
    return state.note if state else None


def history_state(session: Session, repository: str) -> HistoryState | None:
    """Where the stored history runs to (``last_commit``, the default branch's tip at the last update)."""
    return session.exec(select(HistoryState).where(HistoryState.repository == repository)).first()


def branches(session: Session, repository: str, stale: bool = False) -> list[dict]:
    """(module, branch) pairs in flight, by module then branch; ``stale``: the idle ones instead."""
    query = (
        select(HistoryBranch)
        .where(HistoryBranch.repository == repository, HistoryBranch.stale == stale)
        .order_by(HistoryBranch.path, HistoryBranch.branch)
    )
    return [
        {"module": b.path, "branch": b.branch, "commit": b.commit_sha, "status": b.status} for b in session.exec(query)
    ]


def in_flight(session: Session, repository: str) -> dict[str, str]:
    """Module path -> the branch (first by name) whose chainsaw tests make it in progress."""
    found: dict[str, str] = {}
    for b in branches(session, repository):
        found.setdefault(b["module"], b["branch"])
    return found


def event_commits(session: Session, repository: str) -> list[tuple[int, str]]:
    """(last seq, commit) of each commit with events, oldest first: where a history can be cut."""
    query = select(HistoryEvent.seq, HistoryEvent.commit_sha).where(HistoryEvent.repository == repository)
    last: dict[str, int] = {}
    for seq, commit in session.exec(query.order_by(HistoryEvent.seq)):
        last[commit] = seq
    return sorted((seq, commit) for commit, seq in last.items())


def _upto(rows: list[HistoryEvent], upto: int | None) -> list[HistoryEvent]:
    return rows if upto is None else [e for e in rows if e.seq <= upto]


def _standing_regressions(all_events: list[dict]) -> list[dict]:
    latest: dict[str, dict] = {}
    for event in all_events:
        latest[event["module"]] = event
    return [e for e in latest.values() if e["regression"]]


def _current_names(rows: list[HistoryEvent]) -> dict[tuple[str, int], str]:
    """(path, seq) -> the module's newest path, following renames forward."""
    names: dict[tuple[str, int], str] = {}
    lineage: dict[str, list[tuple[str, int]]] = {}  # current path -> its (path, seq)s so far

    def close(path: str) -> None:  # a lineage that ends under ``path``
        for member in lineage.pop(path, []):
            names[member] = path

    for e in rows:
        members = lineage.pop(e.renamed_from, []) if e.renamed_from else []
        if e.renamed_from or e.kind == "born":  # the path may be reused by a new module
            close(e.path)
        else:
            members = lineage.pop(e.path, [])
        members.append((e.path, e.seq))
        lineage[e.path] = members
    for path in list(lineage):
        close(path)
    return names


def _event_dict(e: HistoryEvent, module: str) -> dict:
    return {
        "module": module,
        "path": e.path,
        "from": e.from_status,
        "to": e.to_status if e.to_status is not None else "removed",
        "kind": e.kind,
        "renamed_from": e.renamed_from,
        "regression": e.regression,
        "commit": e.commit_sha,
        "date": e.commit_date.isoformat(),
        "author": e.author,
        "subject": e.subject,
        "pr": e.pr,
    }
