"""Backlog items and milestone tasks: the writes the dashboard and the API call, and their audit rows."""

from __future__ import annotations

import pytest

from app.store import progress_read as read
from app.store.backlog import (
    create_backlog_item,
    delete_backlog_item,
    move_backlog_item,
    set_task_done,
    update_backlog_item,
)
from app.store.errors import Invalid
from app.store.progress_doc import export_document
from tests.progress.conftest import dump_store, run

TESTING = "### Testing Improvements\n\n"


def board(url: str) -> dict[str, dict]:
    return {b["category"]: b["items"] for b in run(url, read.backlog)}


def test_create_appends_to_its_category_in_the_documents_style(seeded: str) -> None:
    item = run(seeded, create_backlog_item, "Testing Improvements", "Chaos tests", "ann")
    assert "- [ ] Validation enhancement\n- [ ] Chaos tests\n\n## Milestones" in run(seeded, export_document)
    assert board(seeded)["Testing Improvements"]["todo"][-1] == {"id": item.id, "title": "Chaos tests",
                                                                  "status": "todo", "position": 4}  # fmt: skip


def test_a_new_category_gets_its_heading_at_the_end_of_the_backlog(seeded: str) -> None:
    run(seeded, create_backlog_item, "Observability", "Loki", "ann", status="doing")
    exported = run(seeded, export_document)
    assert "- [ ] Validation enhancement\n\n### Observability\n\n- [~] Loki\n\n## Milestones" in exported
    assert list(board(seeded)) == ["Infrastructure Evolution", "Testing Improvements", "Observability"]


def test_move_changes_status_and_place_and_keeps_the_blank_lines(seeded: str) -> None:
    items = board(seeded)["Testing Improvements"]["todo"]
    run(seeded, move_backlog_item, items[2]["id"], "ann", status="doing", position=0)
    assert (TESTING + "- [~] Kubernetes-aware testing\n- [ ] Local testing capability\n"
            "- [ ] Comprehensive test coverage\n- [ ] Validation enhancement\n") in run(seeded, export_document)
    run(seeded, move_backlog_item, items[2]["id"], "ann", status="done", position=3)
    assert (TESTING + "- [ ] Local testing capability\n- [ ] Comprehensive test coverage\n"
            "- [ ] Validation enhancement\n- [x] Kubernetes-aware testing\n") in run(seeded, export_document)
    assert [i["title"] for i in board(seeded)["Testing Improvements"]["done"]] == ["Kubernetes-aware testing"]


def test_update_renames_and_moves_between_categories_and_delete_removes(seeded: str) -> None:
    items = board(seeded)["Testing Improvements"]["todo"]
    run(seeded, update_backlog_item, items[0]["id"], "ann", title="Local testing (kind)", category="Infrastructure Evolution")
    exported = run(seeded, export_document)
    assert "- [ ] Security controls through kyverno\n- [ ] Local testing (kind)\n" in exported
    assert TESTING + "- [ ] Comprehensive test coverage\n" in exported
    run(seeded, delete_backlog_item, items[1]["id"], "ann")
    assert TESTING + "- [ ] Kubernetes-aware testing\n- [ ] Validation enhancement\n\n## Milestones" in run(seeded, export_document)
    log = run(seeded, read.audit_entries, limit=2)
    assert [(a["action"], a["target"]) for a in log] == [("backlog.delete", f"backlog:{items[1]['id']}"),
                                                          ("backlog.update", f"backlog:{items[0]['id']}")]  # fmt: skip
    assert log[0]["before"]["title"] == "Comprehensive test coverage" and log[0]["after"] is None


def test_backlog_input_is_checked_and_leaves_the_store_alone(seeded: str) -> None:
    before = dump_store(seeded)
    item = board(seeded)["Testing Improvements"]["todo"][0]["id"]
    for call, kwargs in ((create_backlog_item, {"category": "X", "title": "", "who": "ann"}),
                         (create_backlog_item, {"category": "X", "title": "t", "who": "ann", "status": "blocked"}),
                         (move_backlog_item, {"item_id": item, "who": "ann", "status": "later"})):  # fmt: skip
        with pytest.raises(Invalid):
            run(seeded, call, **kwargs)
    assert dump_store(seeded) == before


def test_ticking_a_milestone_task_updates_progress_export_and_audit(seeded: str) -> None:
    current = run(seeded, read.milestones)[0]
    task = current["tasks"][2]
    run(seeded, set_task_done, task["id"], True, "ann")
    current = run(seeded, read.milestones)[0]
    assert (current["done"], current["total"]) == (3, 5)
    assert "   - [x] Migration of remaining modules (2 at a time)\n" in run(seeded, export_document)
    run(seeded, set_task_done, task["id"], False, "ann")
    log = run(seeded, read.audit_entries, limit=2)
    assert [a["action"] for a in log] == ["milestone.untick", "milestone.tick"]
    assert log[1]["before"] == {"text": task["text"], "done": False}
