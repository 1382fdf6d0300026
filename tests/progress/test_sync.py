"""The scanner keeps the document true: entries ticked from real scans of a built repository."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import INFRA, GitOps, seed_history
from app.scanner import scan
from app.services import scan_and_store
from app.store.scope import adopt
from app.store import progress_read as read
from app.store.audit import audit_log
from app.store.backlog import create_backlog_item
from app.store.db import session_scope
from app.store.errors import Invalid
from app.store.progress_doc import export_document, import_document
from app.store.progress_sync import find_entry, pin_entry, sync_with_scan, unpin_entry
from app.store.scans import latest_scan, record_scan, utcnow
from tests.progress.conftest import SEED, run

TODAY = date(2026, 11, 26)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed repository, then networking migrated (tag "networking"), then media (main)."""
    path = tmp_path_factory.mktemp("sync") / "platform"
    with RepoBuilder(path) as builder:
        gitops = GitOps(builder)
        seed_history(gitops)
        builder.tag("networking", gitops.migrate_suite("infra-networking", pr=1010))
        gitops.migrate_suite("apps-media", pr=1080)
    return path


def entries(url: str) -> dict[str, dict]:
    return {e["text"]: e for e in run(url, read.migration_entries, today=TODAY)["entries"]}


def test_entries_are_ticked_exactly_when_all_their_modules_are_migrated(seeded: str, repo: Path) -> None:
    report = run(seeded, sync_with_scan, scan(repo, ref="networking"), today=TODAY)
    assert report.ticked == ["networking-core/extra modules"] and report.unticked == []
    state = entries(seeded)
    assert state["networking-core/extra modules"]["done"] is True
    assert state["networking-core/extra modules"]["scan_status"] == "migrated"
    assert state["media app modules"]["done"] is False and state["media app modules"]["scan_status"] == "legacy"

    report = run(seeded, sync_with_scan, scan(repo, ref="main"), today=TODAY)
    assert report.ticked == ["media app modules"]
    report = run(seeded, sync_with_scan, scan(repo, ref="networking"), today=TODAY)  # back to an older commit
    assert report.unticked == ["media app modules"]
    assert entries(seeded)["media app modules"]["done"] is False


def test_entries_on_windows_line_ends_in_a_document_of_mixed_ends_are_read_and_keep_their_ends(
    db_url: str, repo: Path, seed: bytes
) -> None:
    """The first lines saved on Windows, the rest not (the last few again): the \\r\\n lines kept
    a stray \\r in their text, so their entries were not read (a misleading warning) and no
    scan ticked them."""
    lines = seed.decode().split("\n")  # the last is "": the document ends with a line end
    cut, tail = lines.index("  - [ ] networking-core/extra modules") + 1, 4
    windows = [True] * cut + [False] * (len(lines) - 1 - cut - tail) + [True] * tail
    mixed = "".join(line + ("\r\n" if crlf else "\n") for line, crlf in zip(lines, windows))
    assert mixed.count("\r\n") == cut + tail and mixed.count("\n") > 2 * (cut + tail)
    report = run(db_url, import_document, mixed.encode(), who="bob")
    assert report.warnings == []
    assert run(db_url, export_document) == mixed  # each line's own end, byte for byte
    assert entries(db_url)["networking-core/extra modules"]["modules"] == [f"{INFRA}/networking-core", f"{INFRA}/networking-extra"]

    synced = run(db_url, sync_with_scan, scan(repo, ref="networking"), today=TODAY)
    assert synced.ticked == ["networking-core/extra modules"]
    exported = run(db_url, export_document)  # ticked, and the modules it does not name added after its entries
    assert "\r\n  - [x] networking-core/extra modules\r\n" in exported
    added = exported.count("\n") - mixed.count("\n")
    assert added > 0 and [line.endswith("\r") for line in exported.split("\n")[:-1]] == (
        windows[:cut] + [False] * added + windows[cut:]
    )

    # an edit from the dashboard adds a line: the odd ends, kept by line number, would fall on
    # other lines, so every line gets the document's usual end (here "\n") instead
    run(db_url, create_backlog_item, "Infrastructure Evolution", "one more", "alice")
    edited = run(db_url, export_document)
    assert "\r" not in edited and edited.count("\n") == exported.count("\n") + 1


def test_a_ticked_entry_whose_modules_are_not_migrated_is_unticked_even_after_an_import(seeded: str, repo: Path, seed: bytes) -> None:
    run(seeded, sync_with_scan, scan(repo, ref="main"), today=TODAY)
    run(seeded, import_document, seed.decode().replace("[ ] storage-core module", "[x] storage-core module"), who="bob")
    assert entries(seeded)["storage-core module"]["done"] is False
    assert "- [ ] storage-core module" in run(seeded, export_document)


def test_unknown_and_missing_modules_are_flagged_and_the_export_adds_the_missing(db_url: str, repo: Path) -> None:
    text = SEED.read_text().replace("  - [ ] harbor app module\n", "  - [ ] harbor app module\n  - [ ] ghost app module\n")
    run(db_url, import_document, text, who="bob")
    report = run(db_url, sync_with_scan, scan(repo, ref="main"), today=TODAY)
    assert report.unknown == {"ghost app module": ["apps/subsystems/ghost"]}
    ghost = entries(db_url)["ghost app module"]
    assert (ghost["done"], ghost["scan_status"], ghost["unknown_modules"]) == (False, "unknown", ["apps/subsystems/ghost"])
    assert ghost["reason"] == "ghost is neither in the last scan nor in the history"
    view = run(db_url, read.migration_entries, today=TODAY)
    # kubernetes-core/extra is named in a plain sub-point ("Successfully migrated ... tests"): present, not missing
    assert [(m["text"], m["status"]) for m in view["missing"]] == [("bitwarden app module", "legacy")]
    exported = run(db_url, export_document)
    assert "  - [ ] ghost app module\n  - [ ] bitwarden app module\n- [ ] Current GitHub Actions workflows\n" in exported
    assert exported.count("kubernetes-core/extra modules") == 1

    run(db_url, import_document, exported, who="bob")  # the team takes the new line in: nothing missing now
    assert run(db_url, read.migration_entries, today=TODAY)["missing"] == []
    assert entries(db_url)["bitwarden app module"]["scan_status"] == "legacy"
    assert run(db_url, export_document) == exported


def test_a_pin_overrides_the_scan_until_it_expires(seeded: str, repo: Path) -> None:
    result = scan(repo, ref="main")
    run(seeded, sync_with_scan, result, today=TODAY)
    harbor = run(seeded, find_entry, "harbor app module").id
    until = TODAY + timedelta(days=30)
    run(seeded, pin_entry, harbor, "being retired", "erin", until=until, today=TODAY)
    run(seeded, sync_with_scan, result, today=TODAY)
    state = entries(seeded)["harbor app module"]
    assert (state["done"], state["pinned"], state["pin_reason"], state["pin_until"]) == (True, True, "being retired", until)
    assert f"  - [x] harbor app module (pinned until {until.isoformat()}: being retired)\n" in run(seeded, export_document)

    report = run(seeded, sync_with_scan, result, today=until + timedelta(days=1))
    assert report.unticked == ["harbor app module"]
    state = entries(seeded)["harbor app module"]
    assert (state["done"], state["pinned"]) == (False, False)
    assert "  - [ ] harbor app module\n" in run(seeded, export_document)
    with session_scope(seeded) as session:
        actions = [(a.action, a.who) for a in audit_log(session, target=f"entry:{harbor}")]
    assert actions == [("scan.sync", "scanner"), ("entry.pin_expired", "sawmill"), ("entry.pin", "erin")]


def test_a_pin_without_expiry_can_hold_an_entry_unticked_and_be_dropped(seeded: str, repo: Path) -> None:
    result = scan(repo, ref="main")
    run(seeded, sync_with_scan, result, today=TODAY)
    media = run(seeded, find_entry, "media app modules").id
    run(seeded, pin_entry, media, "chainsaw tests flaky, not counted yet", "erin", done=False)
    run(seeded, sync_with_scan, result, today=TODAY)
    assert entries(seeded)["media app modules"]["done"] is False
    assert "  - [ ] media app modules (pinned: chainsaw tests flaky, not counted yet)\n" in run(seeded, export_document)
    run(seeded, unpin_entry, media, "erin", today=TODAY)
    assert entries(seeded)["media app modules"]["done"] is True


def test_pins_refuse_bad_input(seeded: str) -> None:
    entry = run(seeded, find_entry, "coder app module").id
    for reason, until, field, message in (("", None, "reason", "needs a reason"),
                                          ("why (not)", None, "reason", "cannot hold '\\)'"),
                                          ("x" * 501, None, "reason", "at most 500 characters"),
                                          ("ok", date(2000, 1, 1), "until", "in the past")):  # fmt: skip
        with pytest.raises(Invalid, match=message) as caught:
            run(seeded, pin_entry, entry, reason, "erin", until=until)
        assert caught.value.field == field


def test_a_scan_of_an_older_tag_leaves_the_ticks_of_the_default_branch(seeded: str, repo: Path) -> None:
    """Looking at an old tag is not the migration going back: the document follows the default branch."""
    scan_and_store(seeded, repo)
    ticked, logged = entries(seeded), run(seeded, audit_log)
    assert ticked["media app modules"]["done"] is True
    stored, _ = scan_and_store(seeded, repo, ref="networking")
    assert entries(seeded) == ticked
    assert {"path": "progress_document", "reason": (
        f"ticks left as they are: {stored.commit_sha[:12]} is not the tip of the default branch (main)"
    )} in stored.warnings  # fmt: skip  (said, so that no one waits for ticks a look back does not make)
    assert run(seeded, audit_log) == logged  # nothing unticked, then ticked again at the next scan


def test_sync_takes_stored_scan_rows_too(seeded: str, repo: Path) -> None:
    with session_scope(seeded, str(repo)) as session:
        adopt(session, str(repo))  # the document was imported before any scan, as scan_and_store does
        record_scan(session, scan(repo, ref="main"), repository=str(repo), started_at=utcnow())
    with session_scope(seeded) as session:
        report = sync_with_scan(session, latest_scan(session), today=TODAY)
    assert sorted(report.ticked) == ["media app modules", "networking-core/extra modules"]


def test_the_first_scan_imports_the_repositorys_own_document(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "own"
    with RepoBuilder(path) as builder:
        gitops = GitOps(builder)
        seed_history(gitops)
        builder.write("memory-bank/progress.md", SEED.read_bytes())
        builder.write("sawmill.yaml", "progress_document: memory-bank/progress.md\n")
        gitops.commit("docs: progress")
        gitops.migrate_suite("infra-storage", pr=7)
        builder.write("memory-bank/progress.md", b"# changed later\n")
        gitops.commit("docs: rewrite")
    scan_and_store(db_url, path, ref="HEAD~1")  # not the branch's tip: the document imported, its ticks as written
    imported = run(db_url, export_document)
    assert imported.startswith("# Progress Tracking\n") and "  - [ ] storage-core module\n" in imported
    scan_and_store(db_url, path, ref="HEAD")  # the tip: the ticks follow it; the store has a document, kept
    exported = run(db_url, export_document)
    assert exported.startswith("# Progress Tracking\n") and "  - [x] storage-core module\n" in exported
    with session_scope(db_url) as session:
        imports = [a for a in audit_log(session) if a.action == "import"]
    assert len(imports) == 1 and imports[0].after["source"] == "memory-bank/progress.md"


def test_a_bad_document_in_the_repository_does_not_stop_the_scan(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "bad"
    with RepoBuilder(path) as builder:
        builder.write("memory-bank/progress.md", b"\xff\xfe not utf-8")
        builder.write("sawmill.yaml", "progress_document: memory-bank/progress.md\n")
        builder.commit("init")
    stored, _ = scan_and_store(db_url, path)
    assert any("not UTF-8" in w["reason"] for w in stored.warnings)


def test_a_document_the_commit_does_not_have_is_not_imported_and_the_scan_says_so(tmp_path: Path, db_url: str) -> None:
    from app.services import progress_document_at
    from app.store.errors import NotFound

    path = tmp_path / "nodoc"
    with RepoBuilder(path) as builder:
        builder.write("sawmill.yaml", "progress_document: docs/progress.md\n")
        builder.commit("init")
    assert progress_document_at(path, "HEAD") == (None, "docs/progress.md")
    stored, _ = scan_and_store(db_url, path)
    assert stored.warnings == [{
        "path": "progress_document",
        "reason": "not imported: docs/progress.md: no such file at the scanned commit (sawmill.yaml's progress_document names it)",
    }]  # fmt: skip
    with pytest.raises(NotFound):
        run(db_url, export_document)


def test_an_entry_naming_a_pair_stays_unticked_while_only_one_half_is_migrated(seeded: str, tmp_path: Path) -> None:
    core, extra = (f"infrastructure/subsystems/networking-{half}" for half in ("core", "extra"))
    with RepoBuilder(tmp_path / "half") as builder:
        gitops = GitOps(builder)
        seed_history(gitops)
        builder.delete(gitops.suites["infra-networking"].manifest(core))
        gitops.add_legacy_suite("infra-networking", [extra])
        gitops.add_chainsaw_suite("infra-networking-core", [core])
        half = gitops.commit("test: networking-core on chainsaw, extra still legacy")
        gitops.migrate_suite("infra-networking", pr=1011)
    result = scan(tmp_path / "half", ref=half.sha)
    assert {m.path: str(m.status) for m in result.modules if m.path in (core, extra)} == {core: "migrated",
                                                                                          extra: "legacy"}  # fmt: skip
    report = run(seeded, sync_with_scan, result, today=TODAY)
    assert "networking-core/extra modules" not in report.ticked
    state = entries(seeded)["networking-core/extra modules"]
    assert (state["done"], state["scan_status"]) == (False, "legacy")
    report = run(seeded, sync_with_scan, scan(tmp_path / "half", ref="HEAD"), today=TODAY)
    assert report.ticked == ["networking-core/extra modules"]


def test_every_kind_of_change_leaves_an_audit_row_naming_who_with_before_and_after(seeded: str, repo: Path) -> None:
    from app.store.audit import format_entry
    from app.store.blockers import add_blocker, edit_blocker, reopen_blocker, resolve_blocker

    run(seeded, sync_with_scan, scan(repo, ref="networking"), today=TODAY)
    networking = run(seeded, find_entry, "networking-core/extra modules").id
    blocker = run(seeded, read.blockers)["open"][0]["id"]
    run(seeded, edit_blocker, blocker, 1, "carol", title="Testing gaps")
    run(seeded, resolve_blocker, blocker, 2, "kind in CI", "dave")
    run(seeded, reopen_blocker, blocker, 3, "erin")
    added = run(seeded, lambda s: add_blocker(s, "Registry quota", "frank").id)
    harbor = run(seeded, find_entry, "harbor app module").id
    run(seeded, pin_entry, harbor, "being retired", "gina", today=TODAY)
    run(seeded, unpin_entry, harbor, "gina", today=TODAY)
    log = list(reversed(run(seeded, read.audit_entries)))
    assert [(a["who"], a["action"], a["target"]) for a in log] == [
        ("alice", "import", "document"), ("scanner", "scan.sync", "modules"),
        ("scanner", "scan.sync", f"entry:{networking}"), ("carol", "blocker.edit", f"blocker:{blocker}"),
        ("dave", "blocker.resolve", f"blocker:{blocker}"), ("erin", "blocker.reopen", f"blocker:{blocker}"),
        ("frank", "blocker.add", f"blocker:{added}"), ("gina", "entry.pin", f"entry:{harbor}"),
        ("gina", "entry.unpin", f"entry:{harbor}"), ("scanner", "scan.sync", f"entry:{harbor}"),
    ]  # fmt: skip
    lines = [format_entry(a).split("  ", 4)[4] for a in log]
    assert lines[2] == 'done: false -> true; text: "networking-core/extra modules"'
    assert lines[3] == 'title: "Testing Framework" -> "Testing gaps"; version: 1 -> 2'
    assert lines[4].startswith('status: "open" -> "resolved"; resolved_at: - -> "20')
    assert lines[4].endswith('resolved_by: - -> "dave"; resolution_note: - -> "kind in CI"; version: 2 -> 3')
    assert lines[6] == 'new: title: "Registry quota"; status: "open"; version: 1'
    assert lines[9] == 'done: true -> false; text: "harbor app module"'
    commit = log[1]["after"]["commit"][:12]
    assert lines[1] == f'14 modules: - -> "legacy"; 4 modules: - -> "migrated"; commit: {commit}'
    assert log[1]["after"]["modules"]["infrastructure/subsystems/networking-core"] == "migrated"


def test_reimporting_the_export_keeps_pins_and_resolutions_as_the_store_had_them(seeded: str, repo: Path) -> None:
    from app.store.blockers import resolve_blocker

    run(seeded, sync_with_scan, scan(repo, ref="main"), today=TODAY)
    harbor = run(seeded, find_entry, "harbor app module").id
    run(seeded, pin_entry, harbor, "being retired", "erin", until=date(2999, 1, 1), today=TODAY)
    blocker = run(seeded, read.blockers)["open"][0]
    run(seeded, resolve_blocker, blocker["id"], blocker["version"], "kind in CI", "carol")
    before = (entries(seeded), run(seeded, read.blockers))
    exported = run(seeded, export_document)
    report = run(seeded, import_document, exported, who="bob")
    assert (report.created, report.updated, report.removed) == (1, 0, 0)  # the line for the missing bitwarden
    after = entries(seeded)
    assert {text: after[text] for text in before[0]} == before[0] and run(seeded, read.blockers) == before[1]
    assert entries(seeded)["harbor app module"]["pinned_by"] == "erin"
    assert run(seeded, export_document) == exported


def test_the_log_lists_each_module_when_a_scan_moves_a_few(seeded: str, repo: Path) -> None:
    from app.store.audit import format_entry

    run(seeded, sync_with_scan, scan(repo, ref="networking"), today=TODAY)
    run(seeded, sync_with_scan, scan(repo, ref="main"), today=TODAY)
    row = next(a for a in run(seeded, read.audit_entries) if a["target"] == "modules")
    commit = row["after"]["commit"][:12]
    assert format_entry(row).split("  ", 4)[4] == f'apps/subsystems/media: "legacy" -> "migrated"; commit: {commit}'


def test_a_write_counts_the_lines_export_adds_for_modules_the_document_lacks(db_url: str, repo: Path) -> None:
    """The scan names a module the document lacks; export will add a line for it. A store one
    item under the limit before that scan is at the limit after it: the next add is refused,
    and what export writes imports again."""
    from app.progress.document import MAX_ITEMS
    from app.store.progress_layout import document_items

    run(db_url, import_document, SEED.read_text(), who="bob")
    filler = "- [ ] filler\n" * (MAX_ITEMS - 1 - run(db_url, document_items))
    text = SEED.read_text().replace("### Testing Improvements\n\n", "### Testing Improvements\n\n" + filler)
    run(db_url, import_document, text, who="bob")
    assert run(db_url, document_items) == MAX_ITEMS - 1

    run(db_url, sync_with_scan, scan(repo, ref="main"), today=TODAY)  # bitwarden: a line export will add
    assert run(db_url, document_items) == MAX_ITEMS
    with pytest.raises(Invalid, match=f"holds {MAX_ITEMS:,} items.*1 more would pass"):
        run(db_url, create_backlog_item, "Testing Improvements", "one too many", "alice")
    exported = run(db_url, export_document)
    assert "  - [ ] bitwarden app module\n" in exported
    run(db_url, import_document, exported, who="bob")
