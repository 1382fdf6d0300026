"""Stores that don't mix: two repositories in one database never share blockers, backlog or milestones."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from app.store.db import session_scope
from app.store.progress import Blocker, Milestone
from app.store.progress_doc import export_document, has_document, import_document
from app.store.progress_read import blockers
from app.store.scope import adopt

DOCUMENT = (Path(__file__).resolve().parents[2] / "app" / "demo" / "progress.md").read_bytes()
OTHER = b"""# Progress Tracking

## Blockers & Challenges

### Current Blockers

1. Only in the other repository
   - its own
"""


def test_each_repository_sees_only_its_own_document(db_url):
    with session_scope(db_url, "/srv/demo") as session:
        import_document(session, DOCUMENT, who="t", source="demo.md")
    with session_scope(db_url, "https://git.example/platform.git") as session:
        assert not has_document(session)
        import_document(session, OTHER, who="t", source="other.md")
        titles = [b["title"] for b in blockers(session)["open"]]
        assert titles == ["Only in the other repository"]
        assert session.exec(select(Milestone)).all() == []
    with session_scope(db_url, "/srv/demo") as session:
        assert "Only in the other repository" not in [b.title for b in session.exec(select(Blocker))]
        assert export_document(session).encode() == DOCUMENT


def test_a_write_in_one_repository_cannot_reach_the_others_rows(db_url):
    from app.store.blockers import resolve_blocker
    from app.store.errors import NotFound

    with session_scope(db_url, "/srv/a") as session:
        import_document(session, OTHER, who="t", source="a.md")
        blocker_id = session.exec(select(Blocker)).one().id
    with session_scope(db_url, "/srv/b") as session:
        with pytest.raises(NotFound):
            resolve_blocker(session, blocker_id, 1, "from b", "mallory")
    with session_scope(db_url, "/srv/a") as session:
        assert session.get(Blocker, blocker_id).status == "open"


def test_a_document_imported_before_any_scan_goes_to_the_first_repository_scanned(db_url):
    with session_scope(db_url) as session:  # nothing scanned: the rows wait, unowned
        import_document(session, OTHER, who="t", source="early.md")
    with session_scope(db_url, "/srv/first") as session:
        assert adopt(session, "/srv/first")
    with session_scope(db_url, "/srv/second") as session:
        assert not adopt(session, "/srv/second")  # nothing is left to adopt
        assert not has_document(session)
    with session_scope(db_url, "/srv/first") as session:
        assert has_document(session)
