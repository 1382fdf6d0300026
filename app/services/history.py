"""The history use case: bring a repository's stored migration history up to its default branch.

The walk follows the default branch's first-parent line (``record_history``);
only new commits are walked, and when the stored commit is no longer on the
branch (a force-push) the events after the merge base are dropped and
recomputed, and the returned note says so. Branches whose own commits migrate
a module legacy at the tip are stored as in flight (or stale). A scan of an
older commit gets the cut of that history it may show (``history_cut``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from app.scanner import history_scan
from app.scanner.config import ScanConfig
from app.scanner.history import Start, Transition, Walk, replay, walk_history
from app.store import history as store


@dataclass
class HistoryUpdate:
    events: list[Transition] = field(default_factory=list)  # the new ones
    commits: int = 0  # relevant commits walked
    full: bool = False  # walked from the first commit
    note: str | None = None  # set when history was rewritten
    last_commit: str | None = None  # the default branch's tip, now the history's last commit
    branch: str | None = None  # the default branch's name
    seconds: float = 0.0


def record_history(
    session: Session,
    repo: Path | str,
    repository: str,
    config_path: Path | None = None,
    progress: Callable[[float], None] | None = None,
    rebuild: bool = False,
    branch: str | None = None,
    stale_days: int = 60,
) -> HistoryUpdate:
    """The scan's history step: bring the default branch's history up to date.

    ``repository`` is the store's key (a path, or the URL of a repository
    scanned through a mirror). The default branch is ``branch`` (SAWMILL_BRANCH)
    or the remote's (see ``history_scan.default_branch``); whatever ref a scan
    looks at, history follows that branch, so a scan of an old tag never
    rewinds it. ``sawmill.yaml`` is read at the branch's tip (or ``config_path``).
    """
    refs = history_scan.read_branches(repo, branch)
    if refs.tip is None:  # an empty repository has no history yet
        return HistoryUpdate()
    config = history_scan.load_config(repo, refs.tip.sha, config_path)
    return update_history(session, repo, repository, config, progress, rebuild, stale_days, refs)


def update_history(
    session: Session,
    repo: Path | str,
    repository: str,
    config: ScanConfig,
    progress: Callable[[float], None] | None = None,
    rebuild: bool = False,
    stale_days: int = 60,
    refs: history_scan.Branches | None = None,
) -> HistoryUpdate:
    """Bring the stored history of ``repository`` (at ``repo``) up to the default branch's tip,
    with ``config`` applied to every commit.

    ``rebuild`` forgets what was stored and walks from the first commit (after
    a change to the module roots in ``sawmill.yaml``, say). ``refs``: the
    branches already read, when the caller has them.
    """
    started = time.perf_counter()
    refs = refs or history_scan.read_branches(repo)
    tip = refs.tip
    if tip is None:
        return HistoryUpdate()
    paths = history_scan.relevant_paths(config)
    rules = rules_digest(config)
    # Walk first, claim after: on SQLite the claim takes the database's write lock, which no other
    # writer (a page's form, a job's heartbeat) should wait on for a whole walk. An update stored
    # while this one walked is found at the claim; this one then walks again from it.
    # Nothing is written before the claim either: events a rewritten history or new rules drop go then.
    state = store.history_state(session, repository)
    seen = _landed(state)
    changed = seen is not None and state.config_digest not in (None, rules)
    stored = store.stored_events(session, repository)
    if rebuild or changed:
        start_commit, kept, note = None, [], None
    else:
        start_commit, kept, note = _resume_point(repo, state.last_commit if seen else None, tip, paths, stored)
    if changed and not rebuild:
        note = "the scan configuration changed since the history was computed: recomputed from the first commit"
    with history_scan.HistoryScanner(repo, config) as scanner:
        walk = _walk(repo, tip, paths, scanner, start_commit, kept, progress)
        held = store.lock_state(session, repository)  # from here another update waits for this one's commit
        overtaken = _landed(held) != seen
        if not overtaken:
            store.drop_events(session, {e.id for e in stored} - {e.id for e in kept})  # before their seqs are reused
            store.append_events(session, repository, kept[-1].seq + 1 if kept else 0, walk.transitions)
            store.replace_branches(session, repository, scanner.branch_progress(refs, walk.statuses, stale_days))
    if overtaken:  # the walk is stale: again, from what the other update stored (its lock is ours now)
        return update_history(session, repo, repository, config, progress, rebuild, stale_days, refs)
    store.save_state(session, held, tip.branch, tip.sha, note, rules)
    return HistoryUpdate(
        events=walk.transitions, commits=walk.commits, full=start_commit is None, note=note,
        last_commit=tip.sha, branch=tip.branch, seconds=time.perf_counter() - started,
    )  # fmt: skip


def history_cut(session: Session, repo: Path | str, repository: str, commit: str, tip: str | None) -> int | None:
    """The last event seq a scan of ``commit`` shows: those of its ancestors (or itself).

    None when ``commit`` is the history's ``tip`` (everything shows); -1 when no
    event is old enough. Events lie along the tip's first-parent line, so the
    ones ``commit`` descends from are a prefix: a binary search, a handful of
    ``git merge-base --is-ancestor`` whatever the history's length.
    """
    if tip is None or commit == tip:
        return None
    commits = store.event_commits(session, repository)
    low, high = 0, len(commits)  # commits[:low] are ancestors, commits[high:] are not
    while low < high:
        middle = (low + high) // 2
        if history_scan.is_ancestor(repo, commits[middle][1], commit):
            low = middle + 1
        else:
            high = middle
    return commits[low - 1][0] if low else -1


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


def rules_digest(config: ScanConfig) -> str:
    """A fingerprint of what in ``config`` decides modules and statuses (where the progress
    document lives does not): a history computed under other rules is walked again."""
    rules = replace(config, progress_document=None)
    return hashlib.blake2b(repr(rules).encode(), digest_size=16).hexdigest()


def _landed(state: store.HistoryState | None) -> tuple | None:
    """What an update stored, to tell whether another one stored since (None: nothing yet)."""
    return (state.last_commit, state.updated_at, state.config_digest) if state is not None and state.last_commit else None


def _resume_point(repo, last, tip, paths, stored) -> tuple[str | None, list, str | None]:
    """Where the walk resumes after ``last`` (None: from the first commit), which of the ``stored``
    events stand, and what to say about a rewritten history."""
    if not last or history_scan.on_first_parent_chain(repo, last, tip.sha):
        return last or None, stored, None
    base = history_scan.merge_base(repo, last, tip.sha)
    if base and not history_scan.on_first_parent_chain(repo, base, tip.sha):
        base = None
    note = (
        f"history was rewritten: {last[:8]} is no longer on {tip.branch}; "
        f"recomputed from {base[:8] if base else 'the first commit'}"
    )
    kept = history_scan.first_parent_commits(repo, base, paths) if base else set()
    return base, [e for e in stored if e.commit_sha in kept], note


def _dated(progress: Callable[[float], None], last: datetime) -> Callable[[datetime], None]:
    """Turn commit dates into a 0..1 fraction of the walk's span (the oldest commit comes first)."""
    first: list[datetime] = []

    def report(when: datetime) -> None:
        if not first:
            first.append(when)
        span = max((last - first[0]).total_seconds(), 1.0)
        progress(min(max((when - first[0]).total_seconds() / span, 0.0), 1.0))

    return report
