"""Read and parse blobs once: a cache keyed by blob sha.

A blob's sha names its content, so whatever a blob parses to holds at every
commit and under every path that has it, as a regular file: a symlink is never
read, and its answer is kept apart (a regular file may hold the same bytes).
``ParseCache`` is the scanner's only way to look inside files; share one
instance across many ``scan_files`` calls (a walk over history) and every blob
is read and parsed at most once.

It also holds the memo of per-test analyses (see ``app.scanner.core``).

A cache made with ``shared=True`` (the scan of a ref and the walk over
history) also keeps what it parsed in ``SHARED``, a bounded store of this
process: the server scans again at every push, and every blob the push did not
change is found there instead of being read and parsed again. Parsed
documents are never changed by those who read them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

import yaml

from app.scanner.source import BlobRef, GitSource
from app.scanner.yamlload import AliasBomb, load_all

MAX_BYTES = 1024 * 1024
TOO_LARGE = "file over 1 MiB, not read"
NOT_FOLLOWED = "symlink, not followed"


@dataclass(frozen=True, slots=True)
class Parsed:
    """A blob's YAML documents, or why there are none (``problem`` is a warning reason)."""

    docs: tuple[Any, ...] = ()
    problem: str | None = None


_SYMLINK_PARSED = Parsed(problem=NOT_FOLLOWED)


class SharedParses:
    """Parsed blobs by sha, the least recently used dropped past ``budget`` bytes of blobs read."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0  # bytes of the blobs behind what is kept
        self.hits = self.misses = 0
        self._items: OrderedDict[str, tuple[Parsed, int]] = OrderedDict()
        self._lock = threading.Lock()  # the server scans in worker threads

    def get(self, sha: str) -> Parsed | None:
        with self._lock:
            item = self._items.get(sha)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(sha)
            self.hits += 1
            return item[0]

    def put(self, sha: str, parsed: Parsed, size: int) -> None:
        if size > self.budget:
            return
        with self._lock:
            old = self._items.pop(sha, None)
            self.size += size - (old[1] if old else 0)
            self._items[sha] = (parsed, size)
            while self.size > self.budget:
                _, (_, dropped) = self._items.popitem(last=False)
                self.size -= dropped

    def __contains__(self, sha: str) -> bool:
        with self._lock:
            return sha in self._items

    def held(self, shas: Iterable[str]) -> set[str]:
        """Those of ``shas`` kept here, asked under one lock."""
        with self._lock:
            return {sha for sha in shas if sha in self._items}

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.size = self.hits = self.misses = 0


# Parsed YAML takes about ten times the memory of its text: 8 MiB of blobs (a GitOps repository's
# tests are well under 1 MiB; a 6,000-file policy repository's about 6) holds under 100 MB.
SHARED = SharedParses(8 * 1024 * 1024)


class ParseCache:
    """Reads blobs through ``read(sha) -> bytes`` and parses each one once.

    ``read`` is ``GitSource.read`` for a scan, or any reader over one
    persistent ``git cat-file --batch`` process for a walk over history.
    ``sizes(shas) -> {sha: size}`` (``GitSource.sizes``) tells a blob's size
    when its ``BlobRef`` does not (a ``git log --raw`` walk), so no blob over
    the cap is ever read; without it such a blob is read, then refused.
    ``ParseCache.over(source)`` wires all three to a ``GitSource``.
    """

    def __init__(
        self,
        read: Callable[[str], bytes],
        read_many: Callable[[list[str]], dict[str, bytes]] | None = None,
        sizes: Callable[[list[str]], dict[str, int]] | None = None,
        shared: bool = False,
        warns: bool = True,
        ask_many: Callable[[list[str]], Callable[[], dict[str, bytes]]] | None = None,
    ) -> None:
        self._read = read
        # False where only statuses are wanted (a walk over history): analyses then leave unparsed
        # the files they would read for nothing but a warning (see app.scanner.chainsaw)
        self.warns = warns
        self._shared = SHARED if shared else None
        self._read_many = read_many
        self._sizes = sizes
        # ``read_many`` in two steps (``GitSource.ask_many``): a prefetch's answers, read when first needed
        self._ask_many = ask_many
        self._asked: Callable[[], dict[str, bytes]] | None = None
        self._raw: dict[str, bytes | str] = {}
        self._parsed: dict[str, Parsed] = {}
        self.memo: dict[tuple, Any] = {}  # owned by app.scanner.core: analyses and layouts

    @classmethod
    def over(cls, source: GitSource, shared: bool = False, warns: bool = True) -> ParseCache:
        """A cache reading through a ``GitSource``: sizes asked first, many blobs pipelined
        (and one over the cap passed over even so, never held whole)."""
        return cls(
            source.read, partial(source.read_many, limit=MAX_BYTES), source.sizes, shared, warns,
            partial(source.ask_many, limit=MAX_BYTES),
        )  # fmt: skip

    def raw(self, ref: BlobRef) -> bytes | str:
        """The blob's bytes, or a warning reason (symlink, too large) when it must not be read."""
        if ref.is_symlink:  # by its mode, not kept by its sha: a regular file's blob may be the same
            return NOT_FOLLOWED
        cached = self._raw.get(ref.sha)
        if cached is None and self._asked is not None:
            self._settle()
            cached = self._raw.get(ref.sha)
        if cached is None:
            cached = self._raw[ref.sha] = self._load(ref)
        return cached

    def forget(self) -> None:
        """Drop every blob, parse and memo entry. The memo's layout and links refer back to
        this cache: dropped at once, a whole scan's structures go by reference counts, not
        waiting for a full garbage collection to find the cycle."""
        self._asked = None
        self._raw.clear()
        self._parsed.clear()
        self.memo.clear()

    def holds(self, ref: BlobRef, needles: tuple[bytes, ...]) -> bool:
        """Whether the blob's bytes hold any of ``needles`` (False for one that must not be read):
        the cheap test that spares parsing a blob that cannot hold what is looked for."""
        data = ParseCache.raw(self, ref)  # the bytes only: not "looked inside" (see TrackingCache)
        return isinstance(data, bytes) and any(needle in data for needle in needles)

    def unreadable(self, ref: BlobRef) -> str | None:
        """Why the blob is not read (a symlink, too large), or None; not "looked inside" either."""
        data = ParseCache.raw(self, ref)
        return data if isinstance(data, str) else None

    def prefetch(self, refs: list[BlobRef]) -> None:
        """Read many blobs at once (when a bulk reader was given); parsing stays lazy. With
        ``ask_many``, git is asked now and the answers are read when a blob is first wanted:
        git writes them while the caller works on (a scan lays out its tree first)."""
        if self._read_many is None:
            return
        self._settle()
        sizes: dict[str, int | None] = {}  # each blob not read yet, once: sha -> size, when told
        for ref in refs:
            if not ref.is_symlink and ref.sha not in self._raw and sizes.get(ref.sha) is None:
                sizes[ref.sha] = ref.size
        if self._shared is not None:  # parsed already: reading it again is wasted
            for sha in self._shared.held(sizes):
                del sizes[sha]
        unsized = [sha for sha, size in sizes.items() if size is None]
        if unsized and self._sizes is not None:  # one batch for the sizes git has not told yet
            sizes.update(self._sizes(unsized))
        wanted = []
        for sha, size in sizes.items():
            if size is not None and size > MAX_BYTES:
                self._raw[sha] = TOO_LARGE
            else:
                wanted.append(sha)
        if self._ask_many is not None:
            self._asked = self._ask_many(wanted)
        else:
            self._keep(self._read_many(wanted))

    def _settle(self) -> None:
        """Read the answers a prefetch asked for, if any are still unread."""
        if self._asked is not None:
            answers, self._asked = self._asked, None
            self._keep(answers())

    def _keep(self, found: dict[str, bytes]) -> None:
        for sha, data in found.items():
            self._raw[sha] = data if len(data) <= MAX_BYTES else TOO_LARGE

    def text(self, ref: BlobRef) -> str | None:
        """The blob as text, or None when it is unreadable (see ``parse`` for why)."""
        data = self.raw(ref)
        if isinstance(data, str) or b"\0" in data:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def parse(self, ref: BlobRef) -> Parsed:
        """Every YAML document in the blob (multi-document files included)."""
        if ref.is_symlink:  # its mode's answer, kept apart from its sha's (see raw)
            return _SYMLINK_PARSED
        parsed = self._parsed.get(ref.sha)
        if parsed is None:
            shared = self._shared
            parsed = shared.get(ref.sha) if shared is not None else None
            if parsed is None:
                parsed = self._parse(ref)
                if shared is not None:
                    data = self._raw.get(ref.sha)
                    shared.put(ref.sha, parsed, len(data) if isinstance(data, bytes) else 64)
            self._parsed[ref.sha] = parsed
        return parsed

    def _load(self, ref: BlobRef) -> bytes | str:
        size = ref.size
        if size is None and self._sizes is not None:
            size = self._sizes([ref.sha]).get(ref.sha)
        if size is not None and size > MAX_BYTES:
            return TOO_LARGE
        data = self._read(ref.sha)
        if len(data) > MAX_BYTES:
            return TOO_LARGE
        return data

    def _parse(self, ref: BlobRef) -> Parsed:
        data = self.raw(ref)
        if isinstance(data, str):
            return Parsed(problem=data)
        if b"\0" in data:
            return Parsed(problem="binary file")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Parsed(problem=f"not UTF-8 (byte {exc.start})")
        try:
            docs = tuple(load_all(text))
        except AliasBomb as exc:
            return Parsed(problem=f"{exc}, not read")
        except yaml.YAMLError as exc:
            return Parsed(problem=_yaml_problem(text, exc))
        return Parsed(docs=docs)


def _yaml_problem(text: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}" if mark is not None else ""
    if mark is not None and "\t" in _line(text, mark.line):
        return f"tab character in indentation{where}"
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"invalid YAML{where}: {problem}"


def _line(text: str, index: int) -> str:
    lines = text.splitlines()
    return lines[index] if 0 <= index < len(lines) else ""
