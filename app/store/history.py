"""Migration history in the store: events, the last processed commit, branches in flight.

``update_history`` brings a repository's stored history up to its tip: only
new commits are walked; when the stored commit is no longer on the branch (a
force-push), the events after the merge base are dropped and recomputed, and
the returned note says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Field, Session, SQLModel, delete, select

from app.scanner import history_scan
from app.scanner.config import ScanConfig
from app.scanner.history import Start, Transition, Walk, replay, walk_history
from app.scanner.history_metrics import Forecast, Point, burndown, forecast


class HistoryEvent(SQLModel, table=True):
    __tablename__ = "history_event"

    id: int | None = Field(default=None, primary_key=True)
    repository: str = Field(index=True)
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


class HistoryState(SQLModel, table=True):
    __tablename__ = "history_state"

    id: int | None = Field(default=None, primary_key=True)
    repository: str = Field(index=True, unique=True)
    branch: str
    last_commit: str
    updated_at: datetime
    note: str | None = None  # what the last update had to say (a rewritten history)


class HistoryBranch(SQLModel, table=True):
    """A module legacy on the default branch that another branch is migrating."""

    __tablename__ = "history_branch"

    id: int | None = Field(default=None, primary_key=True)
    repository: str = Field(index=True)
    path: str
    branch: str
    commit_sha: str
    status: str  # the module's status on that branch


@dataclass
class HistoryUpdate:
    events: list[Transition] = field(default_factory=list)  # the new ones
    commits: int = 0  # relevant commits walked
    full: bool = False  # walked from the first commit
    note: str | None = None  # set when history was rewritten
    last_commit: str | None = None
    seconds: float = 0.0


def update_history(
    session: Session,
    repo: Path | str,
    repository: str,
    config: ScanConfig,
    ref: str = "HEAD",
    progress: Callable[[float], None] | None = None,
    rebuild: bool = False,
    tip: history_scan.Tip | None = None,
) -> HistoryUpdate:
    """Bring the stored history of ``repository`` (at ``repo``) up to ``ref``.

    ``rebuild`` forgets what was stored and walks from the first commit (after
    a change to the module roots in ``sawmill.yaml``, say). ``tip``: ``ref``
    already resolved, when the caller has it.
    """
    started = time.perf_counter()
    tip = tip or history_scan.resolve(repo, ref)
    if tip is None:  # an empty repository has no history yet
        return HistoryUpdate()
    paths = history_scan.relevant_paths(config)
    # Locked (where the database can) so two rescans at once cannot both append the same events.
    query = select(HistoryState).where(HistoryState.repository == repository).with_for_update()
    state = session.exec(query).first()
    if rebuild and state is not None:
        _drop_after(session, repository, repo, _stored(session, repository), None, paths)
        state.last_commit = ""
    start_commit, stored, note = _resume_point(session, repository, repo, state, tip, paths)
    with history_scan.HistoryScanner(repo, config) as scanner:
        walk = _walk(repo, tip, paths, scanner, start_commit, stored, progress)
        seq = stored[-1].seq + 1 if stored else 0
        for offset, t in enumerate(walk.transitions):
            session.add(_row(repository, seq + offset, t))
        _store_branches(session, repository, scanner.branch_progress(tip, walk.statuses))
    state = state or HistoryState(repository=repository, branch=tip.branch, last_commit=tip.sha, updated_at=_now())
    state.branch, state.last_commit, state.updated_at, state.note = tip.branch, tip.sha, _now(), note
    session.add(state)
    session.flush()
    return HistoryUpdate(
        events=walk.transitions, commits=walk.commits, full=start_commit is None, note=note,
        last_commit=tip.sha, seconds=time.perf_counter() - started,
    )  # fmt: skip


def _walk(repo, tip, paths, scanner, start_commit, stored, progress) -> Walk:
    """The walk from ``start_commit`` (None: from the first commit) to the tip."""
    statuses = replay(e.transition() for e in stored)
    if start_commit == tip.sha:  # nothing new: no tree to list, no log to read
        return Walk(statuses=statuses)
    start = None
    if start_commit:
        start = Start(start_commit, history_scan.relevant_files(repo, start_commit, paths), statuses)
    return walk_history(
        repo, tip.sha, paths, scanner, start=start, progress=_dated(progress, tip.date) if progress else None
    )


def _resume_point(session, repository, repo, state, tip, paths) -> tuple[str | None, list[HistoryEvent], str | None]:
    """Where the walk resumes, the events kept, and what to say about a rewritten history."""
    stored = _stored(session, repository)
    last = state.last_commit if state else None
    if not last or history_scan.on_first_parent_chain(repo, last, tip.sha):
        return last or None, stored, None
    base = history_scan.merge_base(repo, last, tip.sha)
    if base and not history_scan.on_first_parent_chain(repo, base, tip.sha):
        base = None
    note = (
        f"history was rewritten: {last[:8]} is no longer on {tip.branch}; "
        f"recomputed from {base[:8] if base else 'the first commit'}"
    )
    return base, _drop_after(session, repository, repo, stored, base, paths), note


def record_history(
    session: Session,
    repo: Path | str,
    config_path: Path | None = None,
    progress: Callable[[float], None] | None = None,
    rebuild: bool = False,
) -> HistoryUpdate:
    """The scan's history step: bring the default branch's (HEAD's) history up to date.

    Whatever ref a scan looks at, history follows the branch HEAD names, so a
    scan of an old tag never rewinds it. ``repository`` is keyed like scans.
    """
    tip = history_scan.resolve(repo, "HEAD")
    if tip is None:
        return HistoryUpdate()
    config = history_scan.load_config(repo, tip.sha, config_path)
    return update_history(session, repo, str(Path(repo).resolve()), config, "HEAD", progress, rebuild, tip)


def _dated(progress: Callable[[float], None], last: datetime) -> Callable[[datetime], None]:
    """Turn commit dates into a 0..1 fraction of the walk's span (the oldest commit comes first)."""
    first: list[datetime] = []

    def report(when: datetime) -> None:
        if not first:
            first.append(when)
        span = max((last - first[0]).total_seconds(), 1.0)
        progress(min(max((when - first[0]).total_seconds() / span, 0.0), 1.0))

    return report


def _stored(session: Session, repository: str) -> list[HistoryEvent]:
    query = select(HistoryEvent).where(HistoryEvent.repository == repository).order_by(HistoryEvent.seq)
    return list(session.exec(query))


def _drop_after(session, repository, repo, stored, base, paths) -> list[HistoryEvent]:
    """Delete the events of commits that are not on ``base``'s first-parent line."""
    kept_commits = history_scan.first_parent_commits(repo, base, paths) if base else set()
    kept = [e for e in stored if e.commit_sha in kept_commits]
    doomed = [e.id for e in stored if e.commit_sha not in kept_commits]
    if doomed:
        session.exec(delete(HistoryEvent).where(HistoryEvent.id.in_(doomed)))
    return kept


def _row(repository: str, seq: int, t: Transition) -> HistoryEvent:
    return HistoryEvent(
        repository=repository, seq=seq, path=t.path, from_status=t.from_status, to_status=t.to_status,
        kind=t.kind, renamed_from=t.renamed_from, regression=t.regression, commit_sha=t.commit,
        commit_date=t.date, author=t.author, subject=t.subject, pr=t.pr,
    )  # fmt: skip


def _store_branches(session: Session, repository: str, found: list[history_scan.BranchProgress]) -> None:
    session.exec(delete(HistoryBranch).where(HistoryBranch.repository == repository))
    for item in found:
        session.add(
            HistoryBranch(
                repository=repository, path=item.path, branch=item.branch, commit_sha=item.commit, status=item.status
            )
        )


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
    branches: list[dict]
    note: str | None
    last_commit: str | None


def events(session: Session, repository: str, module: str | None = None) -> list[dict]:
    """Stored events, oldest first, as dicts (the ``sawmill history --json`` shape).

    ``module`` is the module's current path (renames followed); with a
    ``module``, only its own timeline, including what happened under older names.
    """
    rows = _stored(session, repository)
    current = _current_names(rows)
    out = [_event_dict(e, current.get((e.path, e.seq), e.path)) for e in rows]
    return [e for e in out if module is None or e["module"] == module]


def history_view(session: Session, repository: str, as_of: datetime | None = None) -> HistoryView:
    rows = _stored(session, repository)
    transitions = [e.transition() for e in rows]
    points = burndown(transitions)
    state = session.exec(select(HistoryState).where(HistoryState.repository == repository)).first()
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
    )


def open_regressions(session: Session, repository: str) -> list[dict]:
    """Regression events whose module has not moved since: what ``--fail-on-regression`` fails on."""
    return _standing_regressions(events(session, repository))


def history_note(session: Session, repository: str) -> str | None:
    """What the last update had to say (a rewritten history), if anything."""
    state = session.exec(select(HistoryState).where(HistoryState.repository == repository)).first()
    return state.note if state else None


def branches(session: Session, repository: str) -> list[dict]:
    query = select(HistoryBranch).where(HistoryBranch.repository == repository).order_by(HistoryBranch.path)
    return [
        {"module": b.path, "branch": b.branch, "commit": b.commit_sha, "status": b.status} for b in session.exec(query)
    ]


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
