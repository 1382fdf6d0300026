"""The scanner's one adapter to git: read a repository's objects, write nothing.

``GitSource`` opens a repository (bare or not) through GitPython's persistent
``git cat-file`` object database, so reading a thousand blobs costs one
process, not a thousand. It never checks anything out and never writes to the
repository, not even its config.
"""

from __future__ import annotations

import fcntl
import re
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

import git

from app.scanner.model import MissingObject, ScanError

SYMLINK = "120000"
SUBMODULE = "160000"
# GitPython's names for its persistent cat-file processes (its object database reads through the first)
_CONTENTS, _SIZES = "cat_file_all", "cat_file_header"
_PIPE = 1 << 20  # how far git may write ahead of its reader (Linux's default limit for a pipe)


class BlobRef(NamedTuple):
    """One entry of a commit's tree: its git mode ("100644", "120000"...) and blob sha.

    ``size`` is known when the tree was listed with sizes (``git ls-tree -l``);
    callers that only have ``git log --raw`` leave it ``None``. A named tuple, not a
    frozen dataclass: a walk makes one per change and a scan one per file, and a
    tuple is made in about half the time.
    """

    mode: str
    sha: str
    size: int | None = None

    @property
    def is_symlink(self) -> bool:
        return self.mode == SYMLINK


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    date: datetime


class GitSource:
    """A read-only view of one repository; use it as a context manager.

    >>> with GitSource(path) as source:
    ...     commit = source.resolve("main")
    ...     files = source.tree(commit.sha)
    ...     data = source.read(files["README.md"].sha)
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._repo: git.Repo | None = None
        self._unread: Callable[[], None] | None = None  # reads the answers ``ask_many`` left in the pipe
        self._missing: dict[str, str] = {}  # sha -> path of the blobs a tree listed that git does not have

    def __enter__(self) -> GitSource:
        self._repo = _open(self.path)
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        self._unread = None  # answers left unread go with the process
        if self._repo is not None:
            self._repo.close()  # ends the persistent cat-file processes
            self._repo = None

    @property
    def repo(self) -> git.Repo:
        if self._repo is None:
            raise RuntimeError("GitSource used outside its with block")
        return self._repo

    def resolve(self, ref: str = "HEAD") -> CommitInfo:
        """The commit a branch, tag, sha or ``HEAD`` names.

        Asked of the same ``cat-file --batch`` process that reads the blobs, so
        a scan starts no process just to resolve its ref.
        """
        self._settle()
        try:
            sha, _kind, _size, data = self.repo.git.get_object_data(f"{ref}^{{commit}}")
        except (ValueError, OSError) as exc:  # "<name> missing", a name with a line break, or git exited at once
            raise self._unresolved(ref) from exc
        return CommitInfo(sha=sha.decode() if isinstance(sha, bytes) else sha, date=_committer_date(data))

    def _unresolved(self, ref: str) -> ScanError:
        """Why ``ref`` did not resolve, asked of a new git process: the batch one may
        have exited before reading its request (a broken pipe, not a message)."""
        try:
            self.repo.git.rev_parse("--git-dir")
        except git.GitCommandError as exc:
            if "dubious ownership" in str(exc.stderr):
                return ScanError(
                    f"git refuses to read {self.path}: it belongs to another user"
                    f" (git config --global --add safe.directory {self.path})"
                )
            return ScanError(f"git cannot read {self.path}: {_first_line(exc.stderr)}")
        if ref == "HEAD" and not self._has_commits():
            return ScanError(f"{self.path} has no commits yet")
        return unknown_ref(self.path, ref)

    def tree(self, commit_sha: str) -> dict[str, BlobRef]:
        """Every blob and symlink of a commit's tree: path -> BlobRef (submodules left out).

        A blob the object store lacks (git lists its size as ``BAD``) is listed all the same,
        with no size: only reading it fails (``MissingObject``), and a scan reads few files.
        """
        try:
            raw = self.repo.git.ls_tree(
                "-r", "-l", "-z", "--full-tree", commit_sha, strip_newline_in_stdout=False, stdout_as_string=False
            )
            out = decode_paths(raw)
        except git.GitCommandError as exc:  # a damaged repository: say so, in one line
            raise ScanError(f"cannot list {commit_sha[:12]} in {self.path}: {_first_line(exc.stderr)}") from exc
        files: dict[str, BlobRef] = {}
        for entry in out.split("\0"):
            if not entry:
                continue
            meta, path = entry.split("\t", 1)
            mode, kind, sha, size = meta.split()
            if kind != "blob":
                continue
            if size.isdigit():
                files[path] = BlobRef(mode, sha, int(size))
            else:  # "BAD": git lacks the object
                files[path] = BlobRef(mode, sha)
                self._missing[sha] = path
        return files

    def read(self, sha: str, limit: int | None = None) -> bytes:
        """A blob's bytes, through the persistent ``cat-file --batch`` process.

        With ``limit``, at most that many: a larger blob's size is asked first
        and only its start is read, through a ``git cat-file blob`` of its own.
        """
        if limit is not None and self.sizes([sha]).get(sha, 0) > limit:
            return self._head(sha, limit)
        self._settle()  # GitPython's object database reads through the same process
        try:
            return self.repo.odb.stream(bytes.fromhex(sha)).read()
        except ValueError as exc:  # git answered "<sha> missing"
            raise MissingObject(sha, self._missing.get(sha)) from exc

    def read_many(self, shas: list[str], chunk: int = 400, limit: int | None = None) -> dict[str, bytes]:
        """Many blobs through the same persistent process, pipelined.

        One request at a time costs a round trip per blob; a chunk of requests
        written at once costs one. Chunks stay well under a pipe's buffer, so
        neither side can block the other. A blob over ``limit`` is left out,
        passed over a piece at a time: it is never held whole.
        """
        with self._whole_or_none():
            return _bodies(self._batch(_CONTENTS, shas, chunk, batch=True), limit)

    def ask_many(self, shas: list[str], limit: int | None = None) -> Callable[[], dict[str, bytes]]:
        """``read_many`` in two steps: the requests go to git now, and git writes its answers
        while the caller works on (a scan lays out its tree); the callable returned reads them.

        Any other read through this source reads them first (they come first in the pipe),
        so nothing waits on them but the read that needs them. Requests that would not fit in
        the pipe to git at once are read at once instead: git, its answers unread, could stop
        reading them, and the write would never end.
        """
        self._settle()
        request = "".join(f"{sha}\n" for sha in shas).encode()
        process = self.repo.git._get_persistent_cmd(_CONTENTS, "cat_file", batch=True) if shas else None
        if process is None or len(request) > widen_pipe(process.stdin):
            found = self.read_many(shas, limit=limit)
            return lambda: found
        widen_pipe(process.stdout)  # git writes all its answers while the caller works on
        with self._whole_or_none():
            process.stdin.write(request)
            process.stdin.flush()
        found: dict[str, bytes] = {}

        def read() -> None:
            self._unread = None
            with self._whole_or_none():
                found.update(_bodies(_headers(process, shas), limit))

        self._unread = read

        def answers() -> dict[str, bytes]:
            self._settle()
            return found

        return answers

    @contextmanager
    def _whole_or_none(self) -> Iterator[None]:
        """Requests written and answers read whole, or the ``cat-file`` processes ended: a request
        half written, or answers left half read in the pipe, would be taken by the next read for
        its own (GitPython checks no sha it reads). Answers asked ahead and not read yet go
        with them: their callable hands back what it had read (a cache reads the rest one by one)."""
        try:
            yield
        except BaseException:
            self._unread = None
            self.repo.git.clear_cache()  # ends the persistent processes; the next read starts afresh
            raise

    def _settle(self) -> None:
        """Read the answers ``ask_many`` left in the contents process, before anything else is."""
        if self._unread is not None:
            self._unread()

    def start_readers(self) -> None:
        """Start the two persistent ``cat-file`` processes now (contents, and sizes), if not
        started yet: git takes a millisecond or two to start each, which a caller overlaps
        with other work (a walk, with its log's first commit) instead of its first read
        waiting for it."""
        self.repo.git._get_persistent_cmd(_CONTENTS, "cat_file", batch=True)
        self.repo.git._get_persistent_cmd(_SIZES, "cat_file", batch_check=True)

    def sizes(self, shas: list[str], chunk: int = 400) -> dict[str, int]:
        """Blob sizes, pipelined through one persistent ``cat-file --batch-check``: nothing is read."""
        with self._whole_or_none():
            return {header[0]: int(header[2]) for header, _ in self._batch(_SIZES, shas, chunk, batch_check=True)}

    def _batch(self, name: str, shas: list[str], chunk: int, **option: bool):
        """The ``(sha, kind, size)`` header of each object found, with the stream its body
        (if any) must be read from before the next header."""
        if not shas:
            return  # nothing to ask: no process started for it
        if name == _CONTENTS:
            self._settle()
        process = self.repo.git._get_persistent_cmd(name, "cat_file", **option)
        for start in range(0, len(shas), chunk):
            batch = shas[start : start + chunk]
            process.stdin.write("".join(f"{sha}\n" for sha in batch).encode())
            process.stdin.flush()
            yield from _headers(process, batch)

    def _head(self, sha: str, limit: int) -> bytes:
        process = subprocess.Popen(
            ["git", "cat-file", "blob", sha], cwd=self.repo.git_dir, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert process.stdout is not None
        try:
            return process.stdout.read(limit)
        finally:
            process.kill()
            process.wait()
            process.stdout.close()

    def _has_commits(self) -> bool:
        try:
            return bool(self.repo.git.rev_list("-n1", "--all"))
        except git.GitCommandError:
            return False


def _open(path: Path) -> git.Repo:
    if not path.exists():
        raise ScanError(f"{path} does not exist")
    try:
        repo = git.Repo(path, odbt=git.GitCmdObjectDB)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        shown = path.resolve() if str(path) == "." else path
        top = _enclosing_work_tree(path)
        hint = f" (it lies inside {top}: scan that)" if top else ""
        raise ScanError(f"{shown} is not a git repository{hint}") from exc
    if Path(repo.git_dir).resolve() == path.resolve():
        # ``path`` is a git dir itself (a bare repository). Without a ``config`` saying
        # core.bare, GitPython takes the folder above for its work tree and runs git
        # there, where git finds no repository; git itself reads such a folder as bare.
        # Naming the git dir explicitly makes every command read it the way git does.
        repo.git.update_environment(GIT_DIR=str(path.resolve()))
    return repo


def _enclosing_work_tree(path: Path) -> str | None:
    """The work tree a folder lies in, if any: a scan takes a repository's top folder only."""
    try:
        outer = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    try:
        return outer.working_tree_dir
    finally:
        outer.close()


def _headers(process, shas: list[str]) -> Iterator[tuple[tuple[str, str, str], object]]:
    """The answers of a ``cat-file`` process to ``shas``, asked already: each found object's
    ``(sha, kind, size)``, with the stream its body (if any) must be read from first."""
    for sha in shas:
        header = process.stdout.readline().decode().split()
        if len(header) == 3:  # "<sha> missing": nothing follows
            yield (sha, header[1], header[2]), process.stdout


def _bodies(headers: Iterator[tuple[tuple[str, str, str], object]], limit: int | None) -> dict[str, bytes]:
    """The blobs behind ``--batch`` headers; one over ``limit`` passed over a piece at a time."""
    out: dict[str, bytes] = {}
    for (sha, _kind, size), stdout in headers:
        if limit is not None and int(size) > limit:
            _skip(stdout, int(size))
        else:
            out[sha] = stdout.read(int(size))
        stdout.read(1)  # the newline after each object
    return out


def widen_pipe(pipe) -> int:
    """Let a pipe hold up to ``_PIPE`` bytes instead of a page's 64 KiB, so its writer (git, or
    we writing to git) goes on while its reader does other things; the pipe's size comes
    back. Where the size cannot be set (a user's pipe quota spent), it stays as it was; where
    it cannot be told (not Linux), 4 KiB, the least a pipe holds."""
    try:
        return fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, _PIPE)
    except (AttributeError, OSError):
        try:
            return fcntl.fcntl(pipe.fileno(), fcntl.F_GETPIPE_SZ)
        except (AttributeError, OSError):
            return 4096


def _skip(stream, size: int, piece: int = 1 << 20) -> None:
    """Pass over ``size`` bytes of ``stream`` a piece at a time."""
    while size > 0:
        got = len(stream.read(min(piece, size)))
        if not got:
            return
        size -= got


def git_lines(repo: Path | str, *args: str) -> list[str]:
    """A small git query (a handful per walk, never one per commit); [] when it fails."""
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, stdin=subprocess.DEVNULL, check=False
    )
    if done.returncode != 0:
        return []
    # split on "\n" only: str.splitlines would also cut at characters a path may hold
    lines = decode_paths(done.stdout).split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def unknown_ref(repo: Path | str, ref: str) -> ScanError:
    """``ref`` names no commit of ``repo``; for a ``HEAD`` naming a branch the repository lacks
    (a bare clone whose HEAD kept another name), which branch, and what to do. A SHA-256
    repository resolves nothing through GitPython's object reader: that is said instead."""
    if (git_lines(repo, "rev-parse", "--show-object-format") or ["sha1"])[0] != "sha1":
        return ScanError(f"cannot scan {repo}: SHA-256 repositories are not supported yet (extensions.objectFormat=sha256)")
    if ref == "HEAD" and (named := git_lines(repo, "symbolic-ref", "-q", "--short", "HEAD")):
        return ScanError(
            f"unknown ref 'HEAD' in {repo}: it names branch {named[0]!r}, which the repository does not hold "
            "(name the default branch with SAWMILL_BRANCH, or scan one with --ref)"
        )
    return ScanError(f"unknown ref {ref!r} in {repo}")


def _first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0].removeprefix("stderr: ").strip("'") if lines else "git failed"


def _committer_date(commit: bytes) -> datetime:
    header = commit.split(b"\n\n", 1)[0]
    for line in header.splitlines():
        if line.startswith(b"committer "):
            parts = line.rsplit(b" ", 2)
            return git_date(parts[1], parts[2]) if len(parts) == 3 else git_date(b"0")
    raise ScanError("a commit without a committer line")


# a day inside datetime's range, so the date can still be shown in any timezone
_EARLIEST, _LATEST = datetime(1, 1, 2, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC)


def git_date(stamp: bytes | str, offset: bytes | str = b"+0000") -> datetime:
    """A date as git writes it in a commit (seconds since the epoch, ``+hhmm``), never failing:
    git takes dates no ``datetime`` holds (an imported commit's ``+9959``, a year past 9999),
    and one such commit must not stop every scan. An offset a day or more wide (or garbled)
    is taken as UTC, a time out of range as the nearest ``datetime`` can hold, a stamp that
    is no number as the epoch (as ``git log`` shows it)."""
    try:
        seconds = int(stamp)
    except ValueError:
        seconds = 0
    try:
        return datetime.fromtimestamp(seconds, _zone(offset))
    except (ValueError, OverflowError, OSError):  # out of datetime's range (in this zone)
        return _LATEST if seconds > 0 else _EARLIEST


@lru_cache(maxsize=512)  # a history walk asks for the same few offsets once per commit
def _zone(offset: bytes | str) -> timezone:
    """``+hhmm`` as a timezone; UTC when it is not one (timezone() refuses a day or more)."""
    text = offset.decode(errors="replace") if isinstance(offset, bytes) else offset
    match = re.fullmatch(r"([+-])(\d\d)(\d\d)", text.strip())
    if not match:
        return UTC
    minutes = int(match[2]) * 60 + int(match[3])
    if minutes >= 24 * 60:
        return UTC
    return timezone(timedelta(minutes=-minutes if match[1] == "-" else minutes))


def decode_paths(raw: bytes) -> str:
    """Git output holding paths, as text every later step can store and print.

    Git paths are bytes; one that is not UTF-8 gets U+FFFD where its bad bytes
    were. Every reader of paths (the tree listing, the history's log) decodes
    the same way, so the same file keeps the same name throughout.
    """
    return raw.decode("utf-8", "replace")
