"""One ``git log --raw`` stream over a repository's first-parent history.

The history walk reads every relevant commit of the default branch through a
single ``git log`` process, oldest first, and keeps a snapshot of the relevant
files up to date from the raw change lines. No process per commit, no tree
listing per commit.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import NamedTuple

from app.scanner.globs import is_glob
from app.scanner.model import ScanError
from app.scanner.source import decode_paths, git_date, widen_pipe

# \x01 marks the first field of each commit's header.
_FORMAT = "%x01%H%x00%P%x00%ct%x00%an%x00%s"
_CHUNK = 1 << 16


class Change(NamedTuple):
    """One line of ``git log --raw``: ``status`` is A, M, D or T (renames are split)."""

    status: str
    path: str
    mode: str  # the new mode ("000000" when deleted)
    sha: str  # the new blob sha (the null sha when deleted)
    old_mode: str
    old_sha: str


@dataclass(slots=True)
class LogCommit:
    sha: str
    parents: tuple[str, ...]
    date: datetime
    author: str
    subject: str
    changes: list[Change] = field(default_factory=list)


def path_filter(paths: Sequence[str]) -> Callable[[str], bool] | None:
    """Which paths of the log the walk keeps: those git's pathspec ``paths`` matches (None:
    every path). git is given no pathspec (see ``log_command``); the reader applies this.

    As git's for what ``relevant_paths`` makes (folders, files, ``*.yaml``): an item keeps
    itself and what lies beneath it, taken literally; one with wildcards also keeps the
    paths it matches whole, its ``*`` crossing ``/`` (``*.yaml``: any YAML file anywhere,
    but not what lies in a folder named ``x.yaml``). Other wildcards are matched with
    fnmatch, without git's rarer forms (``[^...]``, ``[[:alpha:]]``, backslash escapes).
    """
    items = list(paths)
    if not items or "." in items:
        return None
    literal = frozenset(items)
    beneath = tuple(f"{item}/" for item in items)
    # the common wildcard, "*<suffix>", is a test of the path's end
    suffixes = tuple(item[1:] for item in items if _is_suffix(item))
    patterns = [re.compile(fnmatch.translate(item)).match for item in items if is_glob(item) and not _is_suffix(item)]

    def keep(path: str) -> bool:
        return (
            path.endswith(suffixes) or path.startswith(beneath) or path in literal
            or any(match(path) for match in patterns)
        )  # fmt: skip

    return keep


def _is_suffix(item: str) -> bool:
    return item[:1] == "*" and not is_glob(item[1:])


def log_command(revisions: Sequence[str]) -> list[str]:
    """The one ``git log`` that feeds the walk (also what the benchmark times).

    It has no pathspec. One would have git compare each commit's tree with its parent's
    to find the commits that touch it, and again for the changes it prints: ``*.yaml``
    (YAML outside modules is relevant) cannot spare it a folder, so that doubled git's
    time (2.0 s against 1.1 s for 35,000 commits) for a few changes fewer. The reader keeps
    what the pathspec would have (``path_filter``) and passes over commits left with no
    change (as the pathspec had git do).
    """
    return [
        "git",
        "-c", "log.showSignature=false",
        "log", "--raw", "-z", "--first-parent", "--diff-merges=first-parent",
        "--no-renames", "--no-abbrev", "--reverse", "--no-color", f"--format={_FORMAT}",
        *revisions, "--",
    ]  # fmt: skip


def iter_log(repo: Path | str, revisions: Sequence[str], paths: Sequence[str]) -> Iterator[LogCommit]:
    """Yield the commits of ``revisions`` that change ``paths`` (git pathspecs: see
    ``path_filter``), oldest first, with their changes to those paths.

    git starts now, not at the first commit asked for: the caller's next steps (a walk
    starts its blob readers) overlap git's work on the first commit. Read the iterator
    to its end, or close it. It reads the stream as it comes, so memory holds one commit
    at a time (plus what ``--reverse`` makes git hold).
    """
    commits = _log(repo, revisions, paths)
    next(commits)  # runs to its first yield: git started
    return commits  # type: ignore[return-value]  # the one None is taken


def _log(repo: Path | str, revisions: Sequence[str], paths: Sequence[str]) -> Iterator[LogCommit | None]:
    """``iter_log``'s commits, after a None once git is started."""
    process = subprocess.Popen(
        log_command(revisions),
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        # the walk stops reading while it scans a commit: the first commit of a large tree is most
        # of the work, and git finishes the rest of the log meanwhile on another core instead of
        # waiting on a full pipe (memory stays bounded by the pipe)
        widen_pipe(process.stdout)
        yield None
        yield from _records(process.stdout, path_filter(paths))
        error = process.stderr.read()
        if process.wait() != 0:
            message = error.decode("utf-8", "replace").strip().splitlines()
            raise ScanError(f"git log failed in {repo}: {message[0] if message else 'unknown error'}")
    finally:
        if process.poll() is None:  # the caller stopped early
            process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()


def _tokens(stream) -> Iterator[str]:
    """The NUL-separated fields of the stream, read and decoded a chunk at a time."""
    return chain.from_iterable(_chunks(stream))  # fields taken one by one at C speed


def _chunks(stream) -> Iterator[list[str]]:
    pending = b""
    while chunk := stream.read(_CHUNK):
        pending += chunk
        cut = pending.rfind(b"\0")
        if cut < 0:
            continue
        # NUL never occurs inside a multi-byte UTF-8 sequence: cutting there is safe
        text, pending = decode_paths(pending[:cut]), pending[cut + 1 :]
        yield text.split("\0")
    if pending:
        yield [decode_paths(pending)]


def _records(stream, keep: Callable[[str], bool] | None = None) -> Iterator[LogCommit]:
    """Fields come in a fixed order: a header (five fields, the first marked with \\x01),
    then a raw meta field and its path for each change. Reading them by position
    means no subject or path, whatever it holds, can be taken for a boundary.
    Only the changes to paths ``keep`` keeps are kept; a commit left without changes
    (or empty, or a merge that changed nothing on the first-parent line) is passed
    over, as a pathspec would have git do."""
    tokens = _tokens(stream)
    commit: LogCommit | None = None
    for token in tokens:
        field = token.lstrip("\n") if token[:1] == "\n" else token
        if field[:1] == ":" and commit is not None:
            old_mode, mode, old_sha, sha, status = field[1:].split(" ")
            path = next(tokens)
            if keep is None or keep(path):
                commit.changes.append(Change(status[0], path, mode, sha, old_mode, old_sha))
        elif field[:1] == "\x01":
            if commit is not None and commit.changes:
                yield commit
            parents, stamp, author, subject = next(tokens), next(tokens), next(tokens), next(tokens)
            commit = LogCommit(
                sha=field[1:],
                parents=tuple(parents.split()),
                date=git_date(stamp),
                author=author,
                subject=subject,
            )
    if commit is not None and commit.changes:
        yield commit


