"""One page of the audit log at a time, filtered by target (a row or a kind) and by person."""

from __future__ import annotations

from app.store.audit import audit_page, audit_people
from app.store.backlog import create_backlog_item
from app.store.blockers import add_blocker
from app.store.db import session_scope


def test_pages_and_filters(seeded: str) -> None:
    with session_scope(seeded) as session:
        blocker = add_blocker(session, "Quota", "bob")
        items = [create_backlog_item(session, "CI", f"item {n}", "carol") for n in range(5)]
        session.flush()
        ids = (blocker.id, [i.id for i in items])
    with session_scope(seeded) as session:
        everything, total = audit_page(session, limit=3)
        assert total == 7 and [e.target for e in everything] == [f"backlog:{i}" for i in reversed(ids[1][2:])]
        rest, _ = audit_page(session, offset=3, limit=10)
        assert [e.target for e in rest][-1] == "document" and len(rest) == 4
        assert audit_page(session, target="blocker")[1] == 1
        assert [e.who for e in audit_page(session, target=f"blocker:{ids[0]}")[0]] == ["bob"]
        assert audit_page(session, target="backlog", who="carol")[1] == 5
        assert audit_page(session, target="back")[1] == 0  # a kind is a whole word before the colon
        assert audit_page(session, target="100%_")[1] == 0  # LIKE's wildcards are plain text here
        assert audit_page(session, who="nobody") == ([], 0)
        assert audit_page(session, who="a\x00b") == ([], 0)
        assert audit_people(session) == ["alice", "bob", "carol"]
