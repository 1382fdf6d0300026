"""One commit of the scanned repository as the draft reads it: the scan, and its files.

Everything is read through the scanner's own pieces (``GitSource``,
``ParseCache``, ``scan_files``, its ``Reader`` for the per-suite analyses),
so a draft sees the repository exactly as the scan that listed the module
did. Nothing is ever written to the repository.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.scanner import load_config
from app.scanner.config import ScanConfig
from app.scanner.core import likely_reads, scan_files
from app.scanner.model import Module
from app.scanner.parse import ParseCache
from app.scanner.snapshot import Reader, Snapshot
from app.scanner.source import BlobRef, GitSource


@dataclass
class Commit:
    """A scanned commit: its files, parsed on demand, and what the scan found."""

    sha: str
    files: dict[str, BlobRef]
    blobs: ParseCache
    config: ScanConfig
    modules: list[Module]

    def exists(self, path: str) -> bool:
        return path in self.files

    def docs(self, path: str | None) -> tuple:
        ref = self.files.get(path) if path is not None else None
        return self.blobs.parse(ref).docs if ref is not None else ()

    def text(self, path: str) -> str | None:
        ref = self.files.get(path)
        return self.blobs.text(ref) if ref is not None else None

    def listdir(self, folder: str) -> list[str]:
        """The files directly in ``folder``."""
        return sorted(p for p in self.files if posixpath.dirname(p) == folder)

    def under(self, folder: str) -> list[str]:
        prefix = f"{folder.rstrip('/')}/" if folder else ""
        return sorted(p for p in self.files if p.startswith(prefix))

    def reader(self) -> Reader:
        """The scanner's own reader over this commit, for its per-suite analyses."""
        layout = self.blobs.memo[("layout", self.config)]
        return Reader(Snapshot(self.files, layout), self.blobs)


@contextmanager
def open_commit(repo: Path | str, ref: str = "HEAD", config_path: Path | str | None = None) -> Iterator[Commit]:
    """Scan ``ref`` of ``repo`` and keep its files readable while the block runs; raises ScanError."""
    with GitSource(repo) as source:
        commit = source.resolve(ref)
        files = source.tree(commit.sha)
        blobs = ParseCache.over(source)
        config = load_config(files, blobs, config_path)
        blobs.prefetch(likely_reads(files, config, blobs))
        modules, _components, _warnings = scan_files(files, blobs, config)
        yield Commit(commit.sha, files, blobs, config, modules)
