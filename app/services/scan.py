"""What a scan does from end to end, shared by the CLI and the web.

Each step is one call; areas that add steps (document sync, history) add a
line here rather than a second path through the code.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.scanner import GitSource, ParseCache, load_config, scan
from app.scanner.model import ScanResult
from app.store.db import session_scope
from app.store.history import branches, record_history
from app.store.progress_sync import after_scan
from app.store.scans import Scan, record_scan, utcnow


def scan_and_store(
    database_url: str,
    repo: Path,
    ref: str = "HEAD",
    config_path: Path | None = None,
    history_progress: Callable[[float], None] | None = None,
) -> tuple[Scan, ScanResult]:
    """Scan ``ref`` of ``repo`` and record the result in one transaction.

    Raises ``app.scanner.ScanError`` (one line for the user) when the scan
    cannot start; nothing is stored then.
    """
    started_at = utcnow()
    result = scan(repo, ref=ref, config_path=config_path)
    repository = str(Path(repo).resolve())
    with session_scope(database_url) as session:
        history = record_history(session, repo, config_path, history_progress)  # the default branch's, incremental
        if history.last_commit == result.commit:  # work in flight elsewhere counts against the default branch only
            result.mark_in_flight({b["module"]: b["branch"] for b in branches(session, repository)})
        stored = record_scan(session, result, repository=repository, started_at=started_at)
        synced = after_scan(session, result, lambda: progress_document_at(repo, result.commit, config_path))
        if synced.import_error:  # the scan stands; the user sees why the document was not imported
            stored.warnings = [*stored.warnings, {"path": "progress_document", "reason": synced.import_error}]
    return stored, result


def progress_document_at(repo: Path, commit: str, config_path: Path | None = None) -> tuple[bytes | None, str]:
    """The progress document sawmill.yaml names (``progress_document``), as of ``commit``:
    its bytes (None when the config names none or the commit lacks it) and its path."""
    with GitSource(repo) as source:
        files = source.tree(commit)
        config = load_config(files, ParseCache(source.read), config_path)
        path = config.progress_document
        if not path or path.strip("/") not in files:
            return None, path or ""
        return source.read(files[path.strip("/")].sha), path
