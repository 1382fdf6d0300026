"""The git scanner: a repository and a ref in, dataclasses out. Pure: no DB, no web.

``scan(repo_path, ref, config_path)`` is the whole entry point for one ref.
A walk over history uses the pieces: ``GitSource`` (or its own reader),
one shared ``ParseCache``, and ``scan_files`` per commit (see app.scanner.core).
"""

from __future__ import annotations

from pathlib import Path

from app.scanner.collector import collector_paused
from app.scanner.config import CONFIG_FILE, ScanConfig, parse_config
from app.scanner.core import likely_reads, relevant, scan_files
from app.scanner.model import ScanError, ScanResult, ScanWarning, Status
from app.scanner.parse import MAX_BYTES, TOO_LARGE, ParseCache
from app.scanner.source import BlobRef, GitSource

__all__ = [
    "BlobRef",
    "GitSource",
    "ParseCache",
    "ScanConfig",
    "ScanError",
    "ScanResult",
    "ScanWarning",
    "Status",
    "load_config",
    "relevant",
    "scan",
    "scan_files",
]


def scan(repo_path: Path | str, ref: str = "HEAD", config_path: Path | str | None = None) -> ScanResult:
    """Scan ``ref`` of the repository at ``repo_path``; raises ScanError when it cannot start."""
    with GitSource(repo_path) as source, collector_paused():  # see app.scanner.collector
        commit = source.resolve(ref)
        files = source.tree(commit.sha)
        blobs = ParseCache.over(source, shared=True)  # the next scan in this process parses only what changed
        try:
            config = load_config(files, blobs, config_path)
            blobs.prefetch(likely_reads(files, config, blobs))  # one round trip to git instead of one per blob
            modules, components, warnings = scan_files(files, blobs, config)
        finally:
            blobs.forget()
    return ScanResult(
        commit=commit.sha,
        ref=ref,
        commit_date=commit.date,
        modules=modules,
        components=components,
        warnings=warnings,
    )


def load_config(files: dict[str, BlobRef], blobs: ParseCache, config_path: Path | str | None = None) -> ScanConfig:
    """``config_path`` if given, else the snapshot's own sawmill.yaml, else the defaults."""
    if config_path is not None:
        from app.progress.reading import read_document  # the bounded read: /dev/zero or a FIFO must not hang

        path = Path(config_path)
        try:
            text = read_document(path, MAX_BYTES)
        except OSError as exc:
            raise ScanError(f"cannot read config {path}: {exc.strerror or exc}") from exc
        if len(text) > MAX_BYTES:
            raise ScanError(f"{path}: {TOO_LARGE}")
        return parse_config(text, str(path))
    ref = files.get(CONFIG_FILE)
    if ref is None:
        return ScanConfig()
    data = blobs.raw(ref)
    if isinstance(data, str):
        raise ScanError(f"{CONFIG_FILE}: {data}")
    return parse_config(data, CONFIG_FILE)
