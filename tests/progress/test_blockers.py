"""Blockers through the store: add, edit, resolve with a note, the stale-version conflict, reopen."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.store import progress_read as read
from app.store.blockers import MAX_POINT, MAX_POINTS, MAX_TITLE, add_blocker, edit_blocker, reopen_blocker, resolve_blocker
from app.store.errors import Conflict, Invalid, NotFound
from app.store.progress_doc import export_document, import_document
from tests.progress.conftest import dump_store, run

WHEN = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)


def open_blocker(url: str) -> dict:
    return run(url, read.blockers)["open"][0]


def test_resolve_records_who_when_and_the_note_and_moves_it_to_resolved_challenges(seeded: str) -> None:
    blocker = open_blocker(seeded)
    run(seeded, resolve_blocker, blocker["id"], blocker["version"], "kind cluster in CI and locally", "carol", at=WHEN)
    blockers = run(seeded, read.blockers)
    assert blockers["open"] == []
    done = blockers["resolved"][-1]
    assert (done["title"], done["resolved_by"], done["resolved_at"], done["resolution_note"], done["version"]) == (
        "Testing Framework", "carol", WHEN, "kind cluster in CI and locally", 2)  # fmt: skip
    exported = run(seeded, export_document)
    assert ("### Current Blockers\n\n### Resolved Challenges\n\n1. Module Organization\n" in exported)
    assert ("   - Basic functionality\n\n3. Testing Framework\n   - Limited to CI environment\n"
            "   - Manual kubernetes operations\n   - Migration complexity\n\n## Next Steps") in exported  # fmt: skip


def test_a_stale_resolve_fails_naming_who_resolved_first_and_changes_nothing(seeded: str) -> None:
    blocker = open_blocker(seeded)  # two people load the page: both see version 1
    run(seeded, resolve_blocker, blocker["id"], blocker["version"], "first note", "carol")
    before = dump_store(seeded)
    with pytest.raises(Conflict, match="already resolved by carol"):
        run(seeded, resolve_blocker, blocker["id"], blocker["version"], "second note", "dave")
    assert dump_store(seeded) == before
    assert run(seeded, read.blockers)["resolved"][-1]["resolution_note"] == "first note"


def test_an_edit_against_a_stale_version_names_who_changed_it(seeded: str) -> None:
    blocker = open_blocker(seeded)
    run(seeded, edit_blocker, blocker["id"], blocker["version"], "carol", title="Testing framework gaps")
    before = dump_store(seeded)
    with pytest.raises(Conflict, match="changed by carol since you loaded it"):
        run(seeded, edit_blocker, blocker["id"], blocker["version"], "dave", points=["something else"])
    assert dump_store(seeded) == before
    assert "1. Testing framework gaps\n   - Limited to CI environment\n" in run(seeded, export_document)


@pytest.mark.parametrize(("note", "message"), [("", "required"), ("   ", "required"), ("x" * 2001, "2,000")])
def test_the_note_is_required_and_at_most_2000_characters(seeded: str, note: str, message: str) -> None:
    blocker = open_blocker(seeded)
    before = dump_store(seeded)
    with pytest.raises(Invalid, match=message) as caught:
        run(seeded, resolve_blocker, blocker["id"], blocker["version"], note, "carol")
    assert caught.value.field == "note"
    assert dump_store(seeded) == before
    run(seeded, resolve_blocker, blocker["id"], blocker["version"], "y" * 2000, "carol")


def test_reopen_moves_it_back_and_the_audit_keeps_the_old_resolution(seeded: str) -> None:
    blocker = open_blocker(seeded)
    run(seeded, resolve_blocker, blocker["id"], 1, "fixed", "carol")
    run(seeded, reopen_blocker, blocker["id"], 2, "dave")
    again = open_blocker(seeded)
    assert (again["id"], again["resolved_by"], again["version"]) == (blocker["id"], None, 3)
    log = run(seeded, read.audit_entries, target=f"blocker:{blocker['id']}")
    assert [(a["action"], a["who"]) for a in log] == [("blocker.reopen", "dave"), ("blocker.resolve", "carol")]
    assert log[0]["before"]["resolution_note"] == "fixed" and log[0]["after"]["status"] == "open"
    with pytest.raises(Conflict, match="already open"):
        run(seeded, reopen_blocker, blocker["id"], 3, "dave")


def test_reopen_then_export_gives_the_seed_back(seeded: str, seed: bytes) -> None:
    blocker = open_blocker(seeded)
    run(seeded, resolve_blocker, blocker["id"], 1, "fixed", "carol")
    run(seeded, reopen_blocker, blocker["id"], 2, "carol")
    assert run(seeded, export_document).encode() == seed


def test_add_appends_in_the_documents_style_even_without_a_blockers_section(db_url: str, seeded: str) -> None:
    run(seeded, add_blocker, "Registry quota", "carol", points=["harbor disk full"])
    assert ("   - Migration complexity\n\n2. Registry quota\n   - harbor disk full\n\n### Resolved Challenges"
            in run(seeded, export_document))  # fmt: skip
    from app.store.progress_doc import import_document

    run(db_url, import_document, "# Progress\n\nJust notes.\n", who="x")
    run(db_url, add_blocker, "First one", "carol")
    assert run(db_url, export_document) == (
        "# Progress\n\nJust notes.\n\n## Blockers & Challenges\n\n### Current Blockers\n\n1. First one\n"
    )


def test_blocker_input_is_checked(seeded: str) -> None:
    with pytest.raises(Invalid, match="title"):
        run(seeded, add_blocker, "  ", "carol")
    with pytest.raises(Invalid, match="one line"):
        run(seeded, add_blocker, "two\nlines", "carol")
    with pytest.raises(NotFound):
        run(seeded, resolve_blocker, 999, 1, "note", "carol")


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (["x" * 100_000], "point 1 is 100,000 characters long; a point is at most 500"),
        (["fine", "y" * (MAX_POINT + 1)], "point 2 is 501 characters long; a point is at most 500"),
        ([f"point {n}" for n in range(50_000)], "a blocker holds at most 50 points; these are 50,000"),
    ],
    ids=["one long line", "one point too long", "too many points"],
)
def test_points_are_bounded_and_a_refusal_names_them(seeded: str, points: list[str], message: str) -> None:
    before = dump_store(seeded)
    with pytest.raises(Invalid) as refused:
        run(seeded, add_blocker, "Registry quota", "carol", points=points)
    assert (refused.value.message, refused.value.field) == (message, "points")
    blocker = open_blocker(seeded)
    with pytest.raises(Invalid, match="at most"):
        run(seeded, edit_blocker, blocker["id"], blocker["version"], "carol", points=points)
    assert dump_store(seeded) == before


def test_a_blocker_at_every_limit_exports_and_imports_again(seeded: str) -> None:
    points = [f"{n:03} " + "p" * (MAX_POINT - 4) for n in range(MAX_POINTS)]
    run(seeded, add_blocker, "t" * MAX_TITLE, "carol", points=points)
    exported = run(seeded, export_document)
    run(seeded, import_document, exported, who="dave")
    assert run(seeded, export_document) == exported
    assert run(seeded, read.blockers)["open"][-1]["points"] == points


def test_two_open_sessions_resolving_at_once_one_wins_the_other_gets_the_conflict(seeded: str) -> None:
    """The version check is one UPDATE: a writer that read the row before the other committed still loses."""
    from app.store.db import session_scope

    blocker_id = open_blocker(seeded)["id"]
    with session_scope(seeded) as late:
        seen = read.blocker_view(late.get(read.Blocker, blocker_id))  # loaded before the other writer commits
        run(seeded, resolve_blocker, blocker_id, seen["version"], "first", "carol")
        with pytest.raises(Conflict, match="already resolved by carol"):
            resolve_blocker(late, blocker_id, seen["version"], "second", "dave")
    resolved = run(seeded, read.blockers)["resolved"][-1]
    assert (resolved["resolved_by"], resolved["resolution_note"], resolved["version"]) == ("carol", "first", 2)
