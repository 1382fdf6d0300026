"""One commit's files as the analyses see them, and the memo that spans commits.

``Snapshot`` is a ``files`` mapping (path -> BlobRef) with its ``Layout``.
``Reader`` is what an analysis reads through: it records every path, folder
and glob it looked at, with what it found, so ``memoized`` can reuse the
result at a later commit where all of those are unchanged.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from app.scanner.config import glob_match
from app.scanner.layout import Layout
from app.scanner.parse import ParseCache, Parsed
from app.scanner.source import BlobRef

T = TypeVar("T")


class Snapshot:
    """One commit's files, seen through the layout kept for them (excluded paths are absent)."""

    def __init__(self, files: Mapping[str, BlobRef], layout: Layout) -> None:
        self.files = files
        self.layout = layout

    def get(self, path: str) -> BlobRef | None:
        return self.files.get(path) if path in self.layout.paths else None

    def listdir(self, folder: str) -> list[str]:
        """The files directly in ``folder``."""
        return sorted(p for p in self.layout.children.get(folder, ()) if p in self.layout.paths)

    def is_dir(self, path: str) -> bool:
        return path == "" or path in self.layout.folders

    def glob(self, pattern: str) -> list[str]:
        return sorted(p for p in self.layout.paths if glob_match(pattern, p))


def _key(ref: BlobRef | None) -> tuple[str, str] | None:
    return (ref.mode, ref.sha) if ref is not None else None


class Reader:
    """Reads a snapshot through the parse cache and remembers what it read."""

    def __init__(self, snapshot: Snapshot, blobs: ParseCache) -> None:
        self.snapshot = snapshot
        self.blobs = blobs
        self.files: dict[str, BlobRef | None] = {}  # path -> the BlobRef it had
        self.deps: dict[tuple, Any] = {}  # folder listings, folder tests and globs

    def get(self, path: str) -> BlobRef | None:
        ref = self.snapshot.get(path)
        self.files[path] = ref
        return ref

    def parse(self, path: str) -> Parsed | None:
        ref = self.get(path)
        return self.blobs.parse(ref) if ref is not None else None

    def raw(self, path: str) -> bytes | str | None:
        ref = self.get(path)
        return self.blobs.raw(ref) if ref is not None else None

    def holds(self, path: str, needles: tuple[bytes, ...]) -> bool | None:
        """Whether the file's bytes hold any of ``needles`` (None when it is absent)."""
        ref = self.get(path)
        return self.blobs.holds(ref, needles) if ref is not None else None

    def listdir(self, folder: str) -> list[str]:
        paths = self.snapshot.listdir(folder)
        self.deps[("dir", folder)] = _listing(self.snapshot, paths)
        return paths

    def is_dir(self, path: str) -> bool:
        found = self.snapshot.is_dir(path)
        self.deps[("isdir", path)] = found
        return found

    def glob(self, pattern: str) -> list[str]:
        paths = self.snapshot.glob(pattern)
        self.deps[("glob", pattern)] = _listing(self.snapshot, paths)
        return paths


def _listing(snapshot: Snapshot, paths: list[str]) -> tuple:
    return tuple((p, _key(snapshot.files[p])) for p in paths)


def same_blob(before: BlobRef | None, now: BlobRef | None) -> bool:
    # identity first: a history walk keeps the same BlobRef for an unchanged path
    return now is before or (
        now is not None and before is not None and now.sha == before.sha and now.mode == before.mode
    )


def _same_files(snapshot: Snapshot, seen: tuple[tuple[str, BlobRef | None], ...]) -> bool:
    get = snapshot.get
    return all(same_blob(before, get(path)) for path, before in seen)


def _still(snapshot: Snapshot, dep: tuple, seen: Any) -> bool:
    kind, arg = dep
    if kind == "dir":
        return _listing(snapshot, snapshot.listdir(arg)) == seen
    if kind == "isdir":
        return snapshot.is_dir(arg) == seen
    return _listing(snapshot, snapshot.glob(arg)) == seen


def memoized(
    snapshot: Snapshot, blobs: ParseCache, key: tuple, analyse: Callable[[Reader], T]
) -> T:
    """``analyse(reader)``, or its earlier result if nothing it read has changed since.

    The memo lives on the ParseCache, so sharing one cache across commits of a
    history walk reuses every analysis whose inputs did not change.
    """
    layout = snapshot.layout
    entry = blobs.memo.get(key)
    if entry is not None:
        files, deps, result = entry
        if _untouched(layout, key, entry) or (
            _same_files(snapshot, files) and all(_still(snapshot, dep, seen) for dep, seen in deps)
        ):
            _stamp(layout, key, entry)
            return result
    reader = Reader(snapshot, blobs)
    result = analyse(reader)
    entry = blobs.memo[key] = (tuple(reader.files.items()), tuple(reader.deps.items()), result)
    _stamp(layout, key, entry)
    return result


class _Reads:
    """What one memo entry read, as sets a change is looked up in."""

    __slots__ = ("paths", "listed", "probed", "globbed")

    def __init__(self, entry: tuple) -> None:
        files, deps, _ = entry
        self.paths = frozenset(path for path, _ in files)
        self.listed = frozenset(arg for (kind, arg), _ in deps if kind == "dir")
        self.probed = frozenset(arg for (kind, arg), _ in deps if kind == "isdir")
        self.globbed = any(kind == "glob" for (kind, _), _ in deps)


def _stamp(layout: Layout, key: tuple, entry: tuple) -> None:
    """Note that ``entry`` holds at this update of ``layout``."""
    stamp = layout.checked.get(key)
    reads = stamp[2] if stamp is not None and stamp[1] is entry else _Reads(entry)
    layout.checked[key] = (layout.generation, entry, reads)


def _untouched(layout: Layout, key: tuple, entry: tuple) -> bool:
    """Whether ``entry``, found to hold at the previous update, holds still because none of
    the paths this update followed (``layout.delta``) is one it read or changes a folder it
    listed or probed. Costs the size of the change, not of what the analysis read: the
    walk over history checks most analyses at most commits this way."""
    stamp = layout.checked.get(key)
    delta = layout.delta
    if delta is None or stamp is None or stamp[1] is not entry or stamp[0] != layout.generation - 1:
        return False
    if not delta:
        return True
    reads: _Reads = stamp[2]
    return (
        not reads.globbed
        and reads.paths.isdisjoint(delta)
        and reads.listed.isdisjoint(layout.delta_folders)
        and reads.probed.isdisjoint(layout.delta_reach)
    )


def memoized_file(
    snapshot: Snapshot, blobs: ParseCache, kind: str, path: str, analyse: Callable[[ParseCache, str, BlobRef], T]
) -> T | None:
    """``analyse(blobs, path, ref)`` for a one-file analysis, reused while the path keeps its blob.

    The cheap sibling of ``memoized``: a single identity or sha test, no Reader.
    None when the path is absent.
    """
    ref = snapshot.get(path)
    key = (kind, path)
    entry = blobs.memo.get(key)
    if entry is not None:
        before, result = entry
        if same_blob(before, ref):
            return result
    result = analyse(blobs, path, ref) if ref is not None else None
    blobs.memo[key] = (ref, result)
    return result


def resolve(folder: str, ref: str) -> str | None:
    """A relative reference from ``folder``, as a repository path; None if it leaves the repository."""
    if ref.startswith("/"):
        return None
    path = posixpath.normpath(posixpath.join(folder, ref))
    if path == ".":
        return ""
    if path == ".." or path.startswith("../"):
        return None
    return path


def is_expression(ref: str) -> bool:
    """A ``($binding)`` expression or a URL: recorded, never followed."""
    ref = ref.strip()
    return ref.startswith("(") or "://" in ref or ref.startswith("$")
