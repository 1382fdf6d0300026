"""Migration history: every module's status transitions along the default branch.

Pure: a repository in, ``Transition`` dataclasses out. One ``git log --raw``
stream (``history_log``) feeds a snapshot of the relevant files that is kept
up to date change by change; module statuses come from the scanner's own
``scan_files`` over that snapshot, with blobs read and parsed once through a
shared ``ParseCache``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import Protocol

from app.scanner.collector import collector_paused
from app.scanner.history_log import Change, LogCommit, iter_log
from app.scanner.model import Status
from app.scanner.source import BlobRef

# A squash merge ends its subject with "(#1010)"; a merge commit starts with
# "Merge pull request #1010 from ...", and on the first-parent line it is the
# merge commit that carries the change.
_PR = re.compile(r"\(#(\d+)\)\s*$|^Merge pull request #(\d+) ")
_REGRESSED = {str(Status.LEGACY), str(Status.UNTESTED)}
_CHAINSAW = {str(Status.MIGRATED), str(Status.IN_PROGRESS)}
# A born module and a removed one share at least this much of their files
# (same relative path and blob) when the commit only moved the directory.
_RENAME_SIMILARITY = 0.5
_WINDOW = 256  # commits read ahead of the walk


class Kind(StrEnum):
    BORN = "born"
    CHANGED = "changed"
    RENAMED = "renamed"
    REMOVED = "removed"


@dataclass(frozen=True)
class Transition:
    """One module's move at one commit. ``from_status`` is None when it is born,
    ``to_status`` None when it is removed."""

    path: str  # the module's path at this commit
    from_status: str | None
    to_status: str | None
    kind: str
    commit: str
    date: datetime
    author: str
    subject: str
    pr: int | None = None
    renamed_from: str | None = None
    regression: bool = False


class StatusOracle(Protocol):
    """What the walk asks of the scanner (see ``app.scanner.history_scan``)."""

    def statuses(self, files: Mapping[str, BlobRef], changed: Collection[str] | None = None) -> dict[str, str]:
        """Module path -> status for this snapshot; ``changed``: the paths changed in
        ``files`` since the previous call (None when unknown), less the edits ``may_change``
        answered False for. The caller does not change the dict; an oracle may hand back
        the same one when nothing moved."""

    def may_change(self, old: BlobRef, new: BlobRef | None) -> bool:
        """Whether replacing ``old`` can change the last result (False only when no scan
        looked inside it, and any byte tests put to it answer the same for ``new``)."""

    def prefetch(self, files: Mapping[str, BlobRef] | Iterable[tuple[str, BlobRef]]) -> None:
        """A hint: these entries are about to appear; read ahead what a scan will read.
        Pairs may name one path many times (its versions along a window of commits)."""

    # Optional, read after each ``statuses``: the module paths whose status moved or that came
    # since the previous call (those gone show as fewer paths); None (or absent) when not known.
    moved: Collection[str] | None


@dataclass
class Start:
    """Where an incremental walk resumes: a processed commit, its relevant files and statuses."""

    commit: str
    files: dict[str, BlobRef]
    statuses: dict[str, str]


@dataclass
class Walk:
    transitions: list[Transition] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)
    last_commit: str | None = None  # the newest relevant commit read, if any
    commits: int = 0  # relevant commits read
    scans: int = 0  # of which needed a scan


def pr_number(subject: str) -> int | None:
    match = _PR.search(subject)
    return int(match.group(1) or match.group(2)) if match else None


def is_regression(from_status: str | None, to_status: str | None, started: bool = True) -> bool:
    """Migrated back to legacy or untested, or a module born with legacy tests only
    once the migration has ``started`` (some module had chainsaw tests before)."""
    if from_status is None:
        return started and to_status == Status.LEGACY
    return from_status == Status.MIGRATED and to_status in _REGRESSED


def walk_history(
    repo: Path | str,
    tip: str,
    paths: Iterable[str],
    oracle: StatusOracle,
    *,
    start: Start | None = None,
    progress: Callable[[datetime], None] | None = None,
) -> Walk:
    """Walk ``tip``'s first-parent history (after ``start``, when given), oldest first.

    ``paths`` limits the walk to what can change a status: module roots, test
    roots, workflows, ``sawmill.yaml``. ``progress`` hears each commit's date.
    """
    with collector_paused():  # see app.scanner.collector
        return _walk(repo, tip, list(paths), oracle, start, progress)


def _walk(
    repo: Path | str,
    tip: str,
    paths: list[str],
    oracle: StatusOracle,
    start: Start | None,
    progress: Callable[[datetime], None] | None,
) -> Walk:
    files = dict(start.files) if start else {}
    walk = Walk(statuses=dict(start.statuses) if start else {})
    revisions = [f"{start.commit}..{tip}"] if start else [tip]
    first = True  # the oracle's first call scans in full; each later one is told what moved
    # git starts on the log now, and ends with the walk however it ends (a failed read-ahead too)
    with closing(iter_log(repo, revisions, paths)) as commits:
        oracle.prefetch(files)  # while git works (in a backfill this only starts the readers)
        for commit, refs in _read_ahead(commits, oracle):
            walk.commits += 1
            walk.last_commit = commit.sha
            if progress:
                progress(commit.date)
            removed, moved = _apply(files, commit.changes, refs, oracle)
            if not moved and not first:
                continue
            walk.scans += 1
            now = oracle.statuses(files, None if first else moved)
            # what moved since the oracle's last answer, which is walk.statuses from the second call on
            hint = None if first else getattr(oracle, "moved", None)
            first = False
            if now is not walk.statuses:  # the same dict back: nothing moved (see HistoryScanner.statuses)
                walk.transitions.extend(_transitions(commit, walk.statuses, now, files, removed, hint))
                walk.statuses = now
    return walk


def _read_ahead(commits: Iterator[LogCommit], oracle: StatusOracle) -> Iterator[tuple[LogCommit, list[BlobRef | None]]]:
    """Commits in windows of ``_WINDOW``, each with the new blob of each change (None for a
    deletion), and each window's new blobs offered to the oracle at once.

    Reading blobs one by one costs a round trip to git each; a window's worth
    costs one. The window bounds what is held in memory. The first window is the
    first commit alone: the walk scans it (in a backfill, a whole tree) while git
    writes the rest of the log, instead of waiting for the rest first.
    """
    size = 1
    while window := list(islice(commits, size)):
        size = _WINDOW
        refs = [[None if c.status == "D" else BlobRef(c.mode, c.sha) for c in commit.changes] for commit in window]
        # pairs, not a dict: a path edited twice in a window has two blobs to read
        oracle.prefetch([
            (change.path, ref)
            for commit, new in zip(window, refs) for change, ref in zip(commit.changes, new) if ref is not None
        ])  # fmt: skip
        yield from zip(window, refs)


def _apply(
    files: dict[str, BlobRef], changes: list[Change], refs: list[BlobRef | None], oracle: StatusOracle
) -> tuple[dict, list[str]]:
    """Apply one commit's raw changes; return the deleted entries and the paths whose change can
    move a status (a rescan is needed when there are any).

    A new or deleted path can make a module or a test appear or go; an edited blob matters only
    if a scan read it, or a test of its bytes answers otherwise now. The other edits are left out
    of what the next rescan is told changed: no analysis that read them can find otherwise, so
    none is made again (a policy bump a test applies, say).
    """
    removed: dict[str, BlobRef] = {}
    moved: list[str] = []
    for change, new in zip(changes, refs):
        old = files.get(change.path)
        # a submodule has no blob to read: a file becoming one is gone from what a scan sees
        if new is None or change.mode == "160000":
            if old is not None:
                removed[change.path] = files.pop(change.path)
                moved.append(change.path)
            continue
        files[change.path] = new
        if old is None or old.mode != new.mode or oracle.may_change(old, new):
            moved.append(change.path)
    return removed, moved


def _transitions(
    commit: LogCommit,
    before: dict[str, str],
    after: dict[str, str],
    files: Mapping[str, BlobRef],
    removed_files: Mapping[str, BlobRef],
    moved_hint: Collection[str] | None = None,
) -> list[Transition]:
    """``moved_hint``: the paths whose status moved or that came (from the oracle); without
    it every path is compared."""
    if moved_hint is not None:
        moved = list(moved_hint)
    else:
        get = before.get
        moved = [path for path, status in after.items() if get(path) != status]  # born or changed
    born = sorted(path for path in moved if path not in before)
    # a module gone unless as many are in both as there were before
    gone = sorted(before.keys() - after.keys()) if len(after) - len(born) != len(before) else []
    renames = _match_renames(gone, born, files, removed_files)
    started = not _CHAINSAW.isdisjoint(before.values())
    out: list[Transition] = []

    def emit(path, old, new, kind, renamed_from=None):
        out.append(
            Transition(
                path=path, from_status=old, to_status=new, kind=kind, commit=commit.sha,
                date=commit.date, author=commit.author, subject=commit.subject,
                pr=pr_number(commit.subject), renamed_from=renamed_from,
                regression=is_regression(old, new, started) if kind != Kind.REMOVED else False,
            )
        )  # fmt: skip

    for new_path, old_path in sorted(renames.items()):
        emit(new_path, before[old_path], after[new_path], Kind.RENAMED, old_path)
    for path in sorted(path for path in moved if path in before):
        emit(path, before[path], after[path], Kind.CHANGED)
    for path in born:
        if path not in renames:
            emit(path, None, after[path], Kind.BORN)
    moved_away = set(renames.values())
    for path in gone:
        if path not in moved_away:
            emit(path, before[path], None, Kind.REMOVED)
    return out


def _match_renames(
    gone: list[str], born: list[str], files: Mapping[str, BlobRef], removed_files: Mapping[str, BlobRef]
) -> dict[str, str]:
    """New module path -> old path, for modules whose directory moved in this commit."""
    if not gone or not born:
        return {}
    old_content = {path: _content(removed_files, path) for path in gone}
    renames: dict[str, str] = {}
    for new_path in born:
        new_content = _content(files, new_path)
        best, score = None, 0.0
        for old_path, content in old_content.items():
            if old_path in renames.values() or not content or not new_content:
                continue
            similarity = len(content & new_content) / len(content | new_content)
            if similarity > score:
                best, score = old_path, similarity
        if best is not None and score >= _RENAME_SIMILARITY:
            renames[new_path] = best
    return renames


def _content(files: Mapping[str, BlobRef], directory: str) -> set[tuple[str, str]]:
    prefix = directory.rstrip("/") + "/"
    return {(path[len(prefix):], ref.sha) for path, ref in files.items() if path.startswith(prefix)}


def replay(transitions: Iterable[Transition], statuses: Mapping[str, str] | None = None) -> dict[str, str]:
    """The module statuses after ``transitions`` (oldest first), from ``statuses``."""
    state = dict(statuses or {})
    for t in transitions:
        if t.renamed_from:
            state.pop(t.renamed_from, None)
        if t.to_status is None:
            state.pop(t.path, None)
        else:
            state[t.path] = t.to_status
    return state
