"""Sawmill's use cases: what the CLI, the web and the background worker do.

Each use case is one call here, built on the pure scanner (``app.scanner``)
and the store (``app.store``, persistence only). Nothing else drives git
fetches, scans, the history walk or the document sync.
"""

from app.services.scan import progress_document_at, scan_and_store

__all__ = ["progress_document_at", "scan_and_store"]
