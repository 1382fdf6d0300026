"""What a scan does from end to end, shared by the CLI and the web.

Each step is one call; areas that add steps (document sync, history) add a
line here rather than a second path through the code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from app.progress.document import MAX_BYTES as MAX_DOCUMENT
from app.scanner import GitSource, ParseCache, load_config, scan
from app.scanner.model import ScanResult
from app.services.history import history_cut, record_history
from app.services.reports import join_reports
from app.services.mirror import FetchError, read_refs
from app.store.db import session_scope
from app.store.history import in_flight
from app.store.progress_sync import after_scan
from app.store.scans import Scan, record_scan, utcnow
from app.store.scope import adopt


def scan_and_store(
    database_url: str,
    repo: Path,
    ref: str = "HEAD",
    config_path: Path | None = None,
    history_progress: Callable[[float], None] | None = None,
    repository: str | None = None,
    branch: str | None = None,
    stale_days: int = 60,
) -> tuple[Scan, ScanResult]:
    """Scan ``ref`` of ``repo`` and record the result in one transaction.

    ``repository`` is the store key the results are kept under: the
    repository's URL when ``repo`` is Sawmill's mirror of it; by default
    ``repo``'s absolute path. ``branch`` names the default branch (None: the
    remote's); branches idle ``stale_days`` are not in flight. Raises ``app.scanner.ScanError`` (one line for
    the user) when the scan cannot start; nothing is stored then.
    """
    started_at = utcnow()
    digest = _refs_digest_of(repo)  # before the scan: a push landing meanwhile moves it, and the next sync scans
    result = scan(repo, ref=ref, config_path=config_path)
    repository = repository or str(Path(repo).resolve())
    with session_scope(database_url, repository) as session:
        adopt(session, repository)  # a document imported before any scan belongs to the first repository scanned
        # the default branch's history, incremental
        history = record_history(session, repo, repository, config_path, history_progress, branch=branch, stale_days=stale_days)
        at_tip = history.last_commit in (None, result.commit)  # the default branch's tip, or none to tell
        if history.last_commit == result.commit:  # work in flight elsewhere counts against the default branch only
            result.mark_in_flight(in_flight(session, repository))
        stored = record_scan(session, result, repository=repository, started_at=started_at, refs_digest=digest)
        join_reports(session, stored)  # CI reports that came before this commit was scanned
        stored.history_upto = history_cut(session, repo, repository, result.commit, history.last_commit)
        # the document's ticks follow the default branch: a look at an older tag leaves them be
        synced = after_scan(session, result, lambda: progress_document_at(repo, result.commit, config_path), sync=at_tip)
        if synced.import_error:  # the scan stands; the user sees why the document was not imported
            stored.warnings = [*stored.warnings, {"path": "progress_document", "reason": f"not imported: {synced.import_error}"}]
        if synced.left:  # said, so that no one waits for ticks a look back will not make
            reason = f"ticks left as they are: {result.commit[:12]} is not the tip of the default branch ({history.branch})"
            stored.warnings = [*stored.warnings, {"path": "progress_document", "reason": reason}]
    return stored, result


def _refs_digest_of(repo: Path) -> str | None:
    try:
        return refs_digest(read_refs(Path(repo)))
    except FetchError:  # not a repository: the scan says so in its own words
        return None


def refs_digest(refs: dict[str, str]) -> str:
    """A fingerprint of every ref: when it is the same, nothing a scan sees can have moved."""
    lines = "".join(f"{name} {sha}\n" for name, sha in sorted(refs.items()))
    return hashlib.blake2b(lines.encode(), digest_size=16).hexdigest()


def progress_document_at(repo: Path, commit: str, config_path: Path | None = None) -> tuple[bytes | None, str]:
    """The progress document sawmill.yaml names (``progress_document``), as of ``commit``:
    its bytes (None when the config names none or the commit lacks it) and its path."""
    with GitSource(repo) as source:
        files = source.tree(commit)
        config = load_config(files, ParseCache(source.read), config_path)
        path = config.progress_document
        if not path or path.strip("/") not in files:
            return None, path or ""
        return source.read(files[path.strip("/")].sha, limit=MAX_DOCUMENT + 1), path  # enough to refuse it
