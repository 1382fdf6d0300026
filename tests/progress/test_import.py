"""Import and export through a real store: each section kind, re-import in place, bad input."""

from __future__ import annotations

import pytest

from app.progress.document import MAX_BYTES
from app.store import progress_read as read
from app.store.blockers import resolve_blocker
from app.store.db import session_scope
from app.store.errors import Invalid, NotFound
from app.store.progress_doc import export_document, import_document
from tests.progress.conftest import dump_store, run

INFRA = "infrastructure/subsystems"


def test_the_seed_round_trips_byte_for_byte(seeded: str, seed: bytes) -> None:
    assert run(seeded, export_document).encode("utf-8") == seed


def test_export_before_any_import_says_what_to_do(db_url: str) -> None:
    with pytest.raises(NotFound, match="sawmill import"):
        run(db_url, export_document)


def test_migration_entries_name_their_modules(seeded: str) -> None:
    entries = run(seeded, read.migration_entries)["entries"]
    assert [e["text"] for e in entries][:3] == ["networking-core/extra modules", "security-core/extra modules",
                                                 "storage-core module"]  # fmt: skip
    assert entries[0]["modules"] == [f"{INFRA}/networking-core", f"{INFRA}/networking-extra"]
    assert entries[2]["modules"] == [f"{INFRA}/storage-core"]
    media = next(e for e in entries if e["text"] == "media app modules")
    assert media["modules"] == ["apps/subsystems/media"] and media["done"] is False
    assert len(entries) == 11


def test_capability_checklists_keep_their_sub_points(seeded: str) -> None:
    lists = run(seeded, read.checklists)
    assert [c["checklist"] for c in lists] == [
        "Testing Framework (High Priority)", "Infrastructure Modules", "Application Modules", "Component Modules",
    ]  # fmt: skip
    poc = lists[0]["items"][0]
    assert poc["done"] is True and poc["text"] == "PoC completed for kyverno/chainsaw migration"
    assert poc["points"][0] == {"text": "Successfully migrated kubernetes-core/extra modules tests", "done": None}
    migration = lists[0]["items"][1]
    assert [p["entry"]["text"] for p in migration["points"]][-1] == "harbor app module"
    assert len(lists[1]["items"]) == 6 and all(i["done"] for i in lists[1]["items"])


def test_backlog_is_grouped_by_category_and_status(seeded: str) -> None:
    board = run(seeded, read.backlog)
    assert [b["category"] for b in board] == ["Infrastructure Evolution", "Testing Improvements"]
    todo = board[1]["items"]["todo"]
    assert [(i["title"], i["position"]) for i in todo][:2] == [("Local testing capability", 0),
                                                                ("Comprehensive test coverage", 1)]  # fmt: skip
    assert board[1]["items"]["doing"] == [] and board[1]["items"]["done"] == []


def test_milestones_have_progress(seeded: str) -> None:
    milestones = run(seeded, read.milestones)
    current = milestones[0]
    assert (current["title"], current["state"], current["done"], current["total"]) == (
        "Testing Framework Migration", "current", 2, 5)  # fmt: skip
    assert [m["title"] for m in milestones[1:]] == ["Module Structure", "Storage Solutions", "Basic Capabilities",
                                                    "Documentation"]  # fmt: skip
    assert all(m["state"] == "completed" and m["done"] == m["total"] for m in milestones[1:])


def test_blockers_open_and_resolved(seeded: str) -> None:
    blockers = run(seeded, read.blockers)
    assert [b["title"] for b in blockers["open"]] == ["Testing Framework"]
    assert blockers["open"][0]["points"] == ["Limited to CI environment", "Manual kubernetes operations",
                                             "Migration complexity"]  # fmt: skip
    assert [b["title"] for b in blockers["resolved"]] == ["Module Organization", "Storage Solutions"]


def test_next_steps(seeded: str) -> None:
    steps = run(seeded, read.next_steps)
    assert [s["title"] for s in steps["immediate"]] == ["Testing Framework Migration"]
    assert steps["immediate"][0]["points"][0] == {"text": "Set up kyverno/chainsaw and complete PoC", "done": True}
    assert [s["title"] for s in steps["future"]] == ["Infrastructure Evolution", "Operational Improvements"]


def test_text_the_grammar_does_not_know_is_written_back_in_place(db_url: str, seed: bytes) -> None:
    text = seed.decode().replace(
        "## Backlog Items\n", "## Team Notes\n\nWe meet on *Tuesdays*.\n\n| a | b |\n|---|---|\n\n## Backlog Items\n"
    ) + "\n<!-- end -->\n"
    run(db_url, import_document, text, who="bob")
    assert run(db_url, export_document) == text


def test_reimport_updates_in_place_and_keeps_what_only_the_store_knows(seeded: str, seed: bytes) -> None:
    resolve_blocker_id = run(seeded, read.blockers)["open"][0]["id"]
    run(seeded, resolve_blocker, resolve_blocker_id, 1, "CI runs kind locally now", "carol")
    exported = run(seeded, export_document)
    edited = exported.replace("\n- [ ] Local testing capability\n", "\n- [~] Local testing capability\n").replace(
        "\n- [ ] Validation enhancement\n", "\n- [ ] Validation enhancement\n- [ ] Chaos tests\n"
    )
    kept = ("audit_entry", "progress_layout")  # the layout is rewritten from the document each time
    before = {t: len(rows) for t, rows in dump_store(seeded).items() if t not in kept}
    report = run(seeded, import_document, edited, who="bob")
    assert (report.created, report.updated, report.removed) == (1, 1, 0)
    after = {t: len(rows) for t, rows in dump_store(seeded).items() if t not in kept}
    assert after["backlog_item"] == before["backlog_item"] + 1
    assert {k: v for k, v in after.items() if k != "backlog_item"} == {k: v for k, v in before.items()
                                                                       if k != "backlog_item"}  # fmt: skip
    blocker = next(b for b in run(seeded, read.blockers)["resolved"] if b["id"] == resolve_blocker_id)
    assert (blocker["resolved_by"], blocker["resolution_note"]) == ("carol", "CI runs kind locally now")
    doing = run(seeded, read.backlog)[1]["items"]["doing"]
    assert [i["title"] for i in doing] == ["Local testing capability"]
    assert run(seeded, export_document) == edited


def test_reimport_removes_what_the_document_dropped(seeded: str, seed: bytes) -> None:
    text = seed.decode().replace("- [ ] Kubernetes-aware testing\n", "")
    report = run(seeded, import_document, text, who="bob")
    assert report.removed == 1 and report.changes == ["removed backlog item 'Kubernetes-aware testing'"]
    assert run(seeded, export_document) == text


def test_a_blocker_moved_to_resolved_in_the_document_is_resolved_by_the_importer(seeded: str, seed: bytes) -> None:
    text = seed.decode().replace(
        "### Current Blockers\n\n1. Testing Framework\n   - Limited to CI environment\n   - Manual kubernetes operations\n"
        "   - Migration complexity\n\n",
        "### Current Blockers\n\n",
    ).replace("   - Basic functionality\n", "   - Basic functionality\n\n3. Testing Framework\n   - Limited to CI environment\n")
    run(seeded, import_document, text, who="dora")
    resolved = run(seeded, read.blockers)["resolved"]
    assert [b["title"] for b in resolved][-1] == "Testing Framework"
    assert resolved[-1]["resolved_by"] == "dora" and resolved[-1]["version"] == 2
    assert run(seeded, export_document) == text



def test_a_blocker_the_document_lists_as_current_again_is_reopened_without_its_old_resolution(
    seeded: str, seed: bytes
) -> None:
    blocker_id = run(seeded, read.blockers)["open"][0]["id"]
    run(seeded, resolve_blocker, blocker_id, 1, "kind runs locally now", "carol")
    run(seeded, import_document, seed, who="dora")  # the old document still lists it as current
    reopened = next(b for b in run(seeded, read.blockers)["open"] if b["id"] == blocker_id)
    assert (reopened["resolved_by"], reopened["resolution_note"], reopened["resolved_at"]) == (None, None, None)
    assert run(seeded, export_document).encode() == seed

BAD = [
    b"",
    b"\n \n",
    "# Progress\n- [x] caf\u00e9\n".encode("latin-1"),
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    b"# big\n" + b"a" * MAX_BYTES,
    b"# Progress\n\n## Backlog Items\n\n### X\n\n- [ ] item\n   - odd\n",
]


@pytest.mark.parametrize("data", BAD, ids=["empty", "blank", "latin-1", "binary", "over-5MB", "odd-indent"])
def test_bad_input_leaves_the_store_as_it_was(seeded: str, data: bytes) -> None:
    before = dump_store(seeded)
    with pytest.raises(Invalid), session_scope(seeded) as session:
        import_document(session, data, who="mallory")
    assert dump_store(seeded) == before


def test_a_failure_after_parsing_rolls_the_whole_import_back(seeded: str, seed: bytes) -> None:
    """One transaction: if anything fails part-way, no table keeps half an import."""
    before = dump_store(seeded)
    with pytest.raises(RuntimeError), session_scope(seeded) as session:
        import_document(session, seed.decode().replace("Local testing", "Remote testing"), who="bob")
        raise RuntimeError("disk full, say")
    assert dump_store(seeded) == before


def test_windows_line_ends_and_non_ascii_text_round_trip(db_url: str, seed: bytes) -> None:
    text = seed.decode().replace("Progress Tracking", "Fortschritt – Übersicht ✓").replace("\n", "\r\n")
    run(db_url, import_document, text.encode(), who="bob")
    assert run(db_url, export_document) == text
    assert run(db_url, read.migration_entries)["entries"][2]["modules"] == [f"{INFRA}/storage-core"]
    run(db_url, import_document, text.removesuffix("\r\n"), who="bob")
    assert run(db_url, export_document) == text.removesuffix("\r\n")


def test_an_import_leaves_one_audit_row_with_what_changed(seeded: str, seed: bytes) -> None:
    run(seeded, import_document, seed.decode().replace("- [ ] Kubernetes-aware testing\n", ""), who="bob")
    row = run(seeded, read.audit_entries, limit=1)[0]
    assert (row["who"], row["action"], row["target"]) == ("bob", "import", "document")
    assert row["before"]["backlog"] == 8 and row["after"]["backlog"] == 7
    assert row["after"]["changes"] == ["removed backlog item 'Kubernetes-aware testing'"]
    assert row["after"]["result"] == "0 created, 1 updated, 1 removed"  # the item below moved up one place


def test_a_title_repeated_in_two_sections_keeps_its_own_rows_on_reimport(db_url: str) -> None:
    text = ("## Milestones\n\n### Completed\n\n1. Docs\n\n2. Storage\n   - [x] block\n\n### Current Focus\n\n"
            "1. Storage\n   - [ ] object\n\n## Blockers & Challenges\n\n### Resolved Challenges\n\n1. DNS\n\n"
            "2. CI\n   - old\n\n### Current Blockers\n\n1. CI\n   - new\n")  # fmt: skip
    run(db_url, import_document, text, who="bob")
    before = dump_store(db_url)
    report = run(db_url, import_document, text, who="bob")
    assert (report.created, report.updated, report.removed) == (0, 0, 0)
    after = dump_store(db_url)
    assert {t: rows for t, rows in after.items() if t != "audit_entry"} == {
        t: rows for t, rows in before.items() if t != "audit_entry"}  # fmt: skip
