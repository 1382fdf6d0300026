"""The audit log keeps every change an import makes, and an id it names never names another row.

The import's audit row kept only its first 200 changes, so items it removed
vanished without trace; on SQLite a deleted last row's id went to the next
row, so ``backlog:189`` named nine different items.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from app.store import progress_read as read
from app.store.audit import audit_log, format_entry
from app.store.backlog import create_backlog_item, delete_backlog_item
from app.store.blockers import add_blocker
from app.store.db import alembic_config, driver_url, get_engine
from app.store.progress_doc import import_document
from tests.progress.conftest import run

EXTRA = 250  # more than the 200 changes the import's row used to keep


def extended(seed: bytes) -> bytes:
    """The seed with EXTRA more backlog items in a category of their own."""
    lines = "".join(f"- [ ] extra item {n}\n" for n in range(EXTRA))
    return seed.replace(b"## Milestones", f"### Extras\n\n{lines}\n## Milestones".encode(), 1)


def test_every_item_an_import_removes_is_in_the_log_with_its_title(db_url: str, seed: bytes) -> None:
    run(db_url, import_document, extended(seed), who="alice")
    ids = {i["title"]: i["id"] for g in run(db_url, read.backlog) for items in g["items"].values() for i in items}
    # a milestone renamed: the old one removed (its tasks with it), a new one added
    dropped = seed.replace(b"1. Testing Framework Migration", b"1. Testing Framework Move", 1)
    report = run(db_url, import_document, dropped, who="bob")
    assert report.removed >= EXTRA

    (row,) = run(db_url, audit_log, 1, "document")
    assert len(row.after["changes"]) == report.removed  # all of them, not the first 200
    assert f"removed backlog item 'extra item {EXTRA - 1}'" in row.after["changes"]
    for n in (0, 199, 200, EXTRA - 1):  # each removed row ends in its own entry, under its own name
        (gone,) = run(db_url, audit_log, 5, f"backlog:{ids[f'extra item {n}']}")
        assert (gone.action, gone.who, gone.after) == ("import.remove", "bob", None)
        assert gone.before["title"] == f"extra item {n}"
        line = format_entry(gone.model_dump())
        assert f'deleted, was: title: "extra item {n}"; ' in line and 'category: "Extras"' in line
    removed = [e for e in run(db_url, audit_log, 1000) if e.action == "import.remove"]
    assert {e.target.split(":")[0] for e in removed} == {"backlog", "milestone", "task"}
    assert any(e.before.get("title") == "Testing Framework Migration" for e in removed)  # the renamed milestone...
    assert sum(e.target.startswith("task:") for e in removed) >= 1  # ...and its tasks, gone with it


def test_a_deleted_last_row_s_id_is_never_handed_out_again(seeded: str) -> None:
    last = run(seeded, create_backlog_item, "Testing Improvements", "short-lived", "ann")
    run(seeded, delete_backlog_item, last.id, "ann")
    after = run(seeded, create_backlog_item, "Testing Improvements", "next one", "ann")
    assert after.id > last.id
    blocker = run(seeded, add_blocker, "short-lived blocker", "ann")
    run(seeded, import_document, run(seeded, read.export_document).replace(
        "1. short-lived blocker\n", ""), who="ann")  # fmt: skip
    assert run(seeded, add_blocker, "another", "ann").id > blocker.id
    targets = [e.target for e in run(seeded, audit_log, 1000)]
    assert targets.count(f"backlog:{last.id}") == 2  # its create and its delete: nothing else under that name


def test_upgrading_an_old_sqlite_store_starts_ids_past_every_one_the_log_names(tmp_path) -> None:
    """Rows deleted before the upgrade: their ids, still named in the log, are not handed out after it."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0010")
    engine = sa.create_engine(driver_url(url), poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO backlog_item (id, repository, category, part, position, gap, title, status, points) "
            "VALUES (1, '', 'C', 0, 0, 0, 'kept', 'todo', '[]')"))  # fmt: skip
        connection.execute(sa.text(
            "INSERT INTO audit_entry (repository, at, who, action, target) "
            "VALUES ('', '2026-11-29 08:00:00', 'ann', 'backlog.delete', 'backlog:7')"))  # fmt: skip
    engine.dispose()
    command.upgrade(config, "heads")
    item = run(url, create_backlog_item, "C", "new", "ann")
    assert item.id == 8
    get_engine(url).dispose()
