"""Stored history: incremental rescans, rewritten history, branches in flight, burndown and forecast."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, timedelta
from pathlib import Path

from app.repobuilder.gitops import APPS, GitOps
from app.scanner.config import ScanConfig
from app.store.db import session_scope
from app.services.history import record_history, update_history
from app.store.history import branches, events, history_view, open_regressions, stored_events
from tests.history.conftest import A_CORE, B_CORE, MEDIA, base, bump, moves, stored, update


def backfill(db_url: str, path: Path) -> list[dict]:
    """The same history computed from scratch under another key: what incremental runs must equal."""
    with session_scope(db_url) as session:
        update_history(session, path, "fresh", ScanConfig())
        return events(session, "fresh")


def test_a_rescan_walks_only_the_new_commits(gitops: GitOps, days, db_url: str) -> None:
    base(gitops, days())
    gitops.migrate_suite("infra-a", pr=1, date=days())
    gitops.builder.flush()
    path = gitops.builder.path
    first = update(db_url, path)
    assert (first.full, first.commits, len(first.events)) == (True, 2, 6)

    assert update(db_url, path).commits == 0
    bump(gitops, B_CORE, "1.1", days())  # content only: walked, nothing to report
    gitops.migrate_suite("infra-b", pr=2, date=days())
    gitops.builder.flush()
    second = update(db_url, path)
    assert (second.full, second.commits, second.note) == (False, 2, None)
    assert [(t.path, t.to_status, t.pr) for t in second.events] == [(B_CORE, "migrated", 2)]
    assert moves(stored(db_url, path)) == moves(backfill(db_url, path))


def test_two_updates_at_once_store_each_event_once(gitops: GitOps, days, db_url: str) -> None:
    """A scan from the command line while the server scans: the second waits for the first, then
    finds the history already at the tip, instead of both appending the same events."""
    base(gitops, days())
    for number in range(1500):  # a walk long enough for the two to overlap
        bump(gitops, MEDIA, f"1.{number}", days())
    gitops.migrate_suite("infra-a", pr=1, date=days())
    gitops.migrate_suite("infra-b", pr=2, date=days())
    gitops.builder.flush()
    path = gitops.builder.path
    together = threading.Barrier(2)

    def one(_: int) -> int:
        together.wait()
        return update(db_url, path).commits

    with ThreadPoolExecutor(2) as pool:
        walked = sorted(pool.map(one, range(2)))
    assert walked[0] == 0 and walked[1] > 1500  # one walked it all; the other found nothing left to walk
    with session_scope(db_url) as session:
        seqs = [event.seq for event in stored_events(session, str(path.resolve()))]
    assert seqs == list(range(len(seqs)))
    assert moves(stored(db_url, path)) == moves(backfill(db_url, path))


def test_other_writers_are_not_held_up_by_a_walk(gitops: GitOps, days, db_url: str) -> None:
    """A job's heartbeat or a page's form writes while a scan walks the history: on SQLite the
    walk must not hold the database's write lock, only the short store at its end."""
    base(gitops, days())
    for number in range(200):
        bump(gitops, MEDIA, f"1.{number}", days())
    gitops.builder.flush()
    path = gitops.builder.path
    writes = []

    def write_meanwhile(_fraction: float) -> None:
        with closing(sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=1)) as other:
            other.execute("BEGIN IMMEDIATE")  # "database is locked" after a second if the walk holds it
            other.execute("ROLLBACK")
        writes.append(1)

    update(db_url, path, progress=write_meanwhile)
    assert len(writes) > 100
    update(db_url, path, progress=write_meanwhile, rebuild=True)  # what a rebuild drops goes at the end too
    assert len(writes) > 200
    assert moves(stored(db_url, path)) == moves(backfill(db_url, path))


def test_a_history_computed_under_other_rules_is_walked_again(gitops: GitOps, days, db_url: str, tmp_path: Path) -> None:
    """A one-off ``scan --config`` (or a sawmill.yaml committed, then reverted) must not leave the
    stored history mixing two sets of rules."""
    base(gitops, days())
    gitops.migrate_suite("infra-a", pr=1, date=days())
    gitops.builder.flush()
    path = gitops.builder.path
    only_apps = tmp_path / "apps-only.yaml"
    only_apps.write_text("modules:\n  roots: [apps/subsystems/*]\n")
    update(db_url, path, config_path=only_apps)
    assert moves(stored(db_url, path)) != moves(backfill(db_url, path))

    again = update(db_url, path)
    assert again.full and again.note.startswith("the scan configuration changed")
    assert moves(stored(db_url, path)) == moves(backfill(db_url, path))
    later = update(db_url, path)
    assert (later.full, later.commits, later.note) == (False, 0, None)  # the same rules: incremental again


def test_a_force_push_recomputes_from_the_merge_base_and_says_so(gitops: GitOps, days, db_url: str) -> None:
    base(gitops, days())
    kept = gitops.migrate_suite("infra-a", pr=1, date=days())
    dropped = gitops.migrate_suite("infra-b", pr=2, date=days())
    gitops.builder.flush()
    path = gitops.builder.path
    update(db_url, path)
    assert any(e["commit"] == dropped.sha for e in stored(db_url, path))

    gitops.builder.branch("main", kept)  # rewrite: drop the infra-b migration, land media instead
    bump(gitops, MEDIA, "1.2", days())
    gitops.migrate_suite("apps-media", pr=3, date=days())
    gitops.builder.flush()
    result = update(db_url, path)

    assert result.note == (
        f"history was rewritten: {dropped.sha[:8]} is no longer on main; recomputed from {kept.sha[:8]}"
    )
    assert not result.full
    after = stored(db_url, path)
    assert not any(e["commit"] == dropped.sha for e in after)
    assert [(e["path"], e["to"], e["pr"]) for e in after[-1:]] == [(MEDIA, "migrated", 3)]
    assert moves(after) == moves(backfill(db_url, path))
    with session_scope(db_url) as session:
        assert history_view(session, str(path.resolve())).note == result.note


def test_a_branch_with_a_migration_in_flight(gitops: GitOps, days, db_url: str) -> None:
    base(gitops, days())
    main = gitops.migrate_suite("infra-a", pr=1, date=days())
    builder = gitops.builder
    builder.delete("ci/test/infra-b/kustomization.yaml")
    gitops.add_chainsaw_suite("infra-b", [B_CORE])
    wip = gitops.commit("wip: migrate b to chainsaw", branch="feature/b", parent=main)
    gitops.add_chainsaw_suite("apps-media", [MEDIA])  # chainsaw beside the legacy suite: in progress
    remote = gitops.commit("wip: media", branch="scratch", parent=main)
    builder.remote_branch("origin", "media-chainsaw", remote)
    gitops.add_chainsaw_suite("apps-media", [MEDIA])
    upstream = gitops.commit("wip: media, pushed to main", branch="twin", parent=main)
    builder.remote_branch("origin", "main", upstream)  # the default branch's remote twin is not "another branch"
    builder.flush()
    builder.repo.git.branch("-D", "twin")
    builder.repo.git.branch("-D", "scratch")
    path = builder.path

    update(db_url, path)
    with session_scope(db_url) as session:
        found = branches(session, str(path.resolve()))
    assert found == [
        {"module": MEDIA, "branch": "origin/media-chainsaw", "commit": remote.sha, "status": "in_progress"},
        {"module": B_CORE, "branch": "feature/b", "commit": wip.sha, "status": "migrated"},
    ]
    assert A_CORE not in {b["module"] for b in found}  # migrated on main already


def test_regressions_stand_until_the_module_moves_again(gitops: GitOps, days, db_url: str) -> None:
    base(gitops, days())
    gitops.migrate_suite("infra-b", pr=7, date=days())
    gitops.builder.delete("ci/test/infra-b/chainsaw-test.yaml")
    gitops.commit("chore: drop the b test", date=days())
    gitops.builder.flush()
    path = gitops.builder.path
    update(db_url, path)
    with session_scope(db_url) as session:
        assert [(e["module"], e["from"], e["to"]) for e in open_regressions(session, str(path.resolve()))] == [
            (B_CORE, "migrated", "untested")
        ]
    gitops.add_chainsaw_suite("infra-b", [B_CORE])
    gitops.commit("test: b is back on chainsaw (#9)", date=days())
    gitops.builder.flush()
    update(db_url, path)
    with session_scope(db_url) as session:
        assert open_regressions(session, str(path.resolve())) == []


def test_burndown_and_forecast(gitops: GitOps, days, db_url: str) -> None:
    base(gitops, days())
    gitops.migrate_suite("infra-a", pr=1, date=days())  # two modules
    last = days()
    gitops.migrate_suite("infra-b", pr=2, date=last)  # one more, a week later
    gitops.builder.flush()
    path = gitops.builder.path
    update(db_url, path)
    with session_scope(db_url) as session:
        view = history_view(session, str(path.resolve()), as_of=last)
        stale = history_view(session, str(path.resolve()), as_of=last + timedelta(days=91))
    assert [(p.remaining, p.total) for p in view.points] == [(4, 4), (2, 4), (1, 4)]
    # 3 migrations in 90 days: one remaining module takes 30 days
    assert view.forecast.done_by == last + timedelta(days=30)
    assert view.forecast.message.endswith(f"done around {(last + timedelta(days=30)):%Y-%m-%d}")
    assert stale.forecast.done_by is None
    assert stale.forecast.message == "no progress in 90 days"


def test_a_branch_already_merged_is_not_in_flight(gitops: GitOps, days, db_url: str) -> None:
    base(gitops, days())
    migrated = gitops.migrate_suite("infra-b", pr=5, date=days())
    gitops.builder.delete("ci/test/infra-b/chainsaw-test.yaml")
    gitops.add_legacy_suite("infra-b", [B_CORE])
    gitops.commit("revert: b back on the old workflow", date=days())
    gitops.builder.branch("old-b", migrated)  # its chainsaw test is history, not work in flight
    gitops.builder.flush()
    path = gitops.builder.path

    update(db_url, path)
    with session_scope(db_url) as session:
        assert branches(session, str(path.resolve())) == []
        assert [e["to"] for e in open_regressions(session, str(path.resolve()))] == ["legacy"]


def test_rebuild_walks_everything_again_without_duplicates(gitops: GitOps, days, db_url: str) -> None:
    base(gitops, days())
    gitops.migrate_suite("infra-a", pr=1, date=days())
    gitops.builder.flush()
    path = gitops.builder.path
    update(db_url, path)
    before = moves(stored(db_url, path))
    with session_scope(db_url) as session:
        again = record_history(session, path, str(path.resolve()), rebuild=True)
    assert (again.full, again.commits) == (True, 2)
    assert moves(stored(db_url, path)) == before


def test_a_rescan_resumes_from_files_with_odd_names(gitops: GitOps, days, db_url: str) -> None:
    from app.repobuilder.gitops import INFRA, flux_kustomization, kustomize

    base(gitops, days())
    odd = "c\u2028core\x1c.yaml"  # characters str.splitlines would break a line at
    gitops.add_module(f"{INFRA}/c-core")
    gitops.builder.write(f"ci/test/infra-c/{odd}", flux_kustomization("c", f"{INFRA}/c-core"))
    gitops.builder.write("ci/test/infra-c/kustomization.yaml", kustomize([odd]))
    gitops.commit("feat: c-core, its manifest oddly named", date=days())
    gitops.builder.flush()
    path = gitops.builder.path
    update(db_url, path)
    assert stored(db_url, path, f"{INFRA}/c-core")[0]["to"] == "legacy"

    gitops.migrate_suite("infra-b", pr=2, date=days())
    gitops.builder.flush()
    assert [(t.path, t.to_status) for t in update(db_url, path).events] == [(B_CORE, "migrated")]
    assert moves(stored(db_url, path)) == moves(backfill(db_url, path))


def test_a_rescan_resumes_with_the_yaml_outside_the_roots(gitops: GitOps, days, db_url: str) -> None:
    """A rescan starts from the last commit's relevant files, YAML outside the roots among them:
    a kuttl TestSuite at the root naming a module's tests keeps it legacy, as the backfill saw it.
    (``git ls-tree`` takes ``*.yaml`` literally: once listed with it, that file was lost.)"""
    from app.repobuilder.gitops import APPS, dump

    media = f"{APPS}/media-k"
    gitops.add_module(media)
    gitops.builder.write("kuttl-test.yaml", dump({"apiVersion": "kuttl.dev/v1beta1", "kind": "TestSuite",
                                                   "testDirs": [f"{media}/tests"]}))  # fmt: skip
    gitops.builder.write(f"{media}/tests/basic/00-install.yaml", dump({"apiVersion": "v1", "kind": "ConfigMap"}))
    gitops.commit("feat: media with kuttl tests", date=days())
    gitops.builder.flush()
    path = gitops.builder.path
    assert [(t.path, t.to_status) for t in update(db_url, path).events] == [(media, "legacy")]

    bump(gitops, media, "1.1", days())
    gitops.builder.flush()
    assert update(db_url, path).events == []  # nothing moved
    assert moves(stored(db_url, path)) == moves(backfill(db_url, path))


def test_a_scan_of_the_default_branch_shows_work_in_flight_as_in_progress(gitops: GitOps, days, db_url: str) -> None:
    from app.services import scan_and_store
    from app.store.scans import scan_modules

    base(gitops, days())
    main = gitops.migrate_suite("infra-a", pr=1, date=days())
    gitops.builder.delete("ci/test/infra-b/kustomization.yaml")
    gitops.add_chainsaw_suite("infra-b", [B_CORE])
    gitops.commit("wip: migrate b to chainsaw", branch="feature/b", parent=main)
    gitops.builder.flush()
    path = gitops.builder.path

    stored, result = scan_and_store(db_url, path)
    by_path = {m.path: m for m in result.modules}
    assert (by_path[B_CORE].status, by_path[B_CORE].branch) == ("in_progress", "feature/b")
    assert (by_path[MEDIA].status, by_path[MEDIA].branch) == ("legacy", None)
    assert result.to_dict()["summary"]["counts"]["in_progress"] == 1
    with session_scope(db_url) as session:
        rows = {m.path: m for m in scan_modules(session, stored.id)}
    assert (rows[B_CORE].status, rows[B_CORE].branch) == ("in_progress", "feature/b")

    _, older = scan_and_store(db_url, path, ref="main~1")  # not the default branch's tip: no overlay
    assert {m.path: m.status for m in older.modules}[B_CORE] == "legacy"


def test_the_board_names_the_branch_in_flight(gitops: GitOps, days, db_url: str) -> None:
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.services import scan_and_store
    from app.web.main import create_app

    base(gitops, days())
    main = gitops.migrate_suite("infra-a", pr=1, date=days())
    gitops.add_chainsaw_suite("apps-media", [MEDIA])
    gitops.commit("wip: media", branch="media-chainsaw", parent=main)
    gitops.builder.flush()
    scan_and_store(db_url, gitops.builder.path)

    client = TestClient(create_app(Settings(database_url=db_url, repo=str(gitops.builder.path))))
    board = client.get("/").text
    card = board.split(f'data-module="{MEDIA}"', 1)[1].split("</article>", 1)[0]
    assert "chainsaw on <code>media-chainsaw</code>" in card
    assert 'data-status="in_progress"' in board.split(f'data-module="{MEDIA}"', 1)[0].rsplit("<section", 1)[1]
    assert "media-chainsaw" in client.get(f"/modules/{MEDIA}").text


def test_a_backfill_reports_its_progress_from_the_first_commit_to_the_tip(gitops: GitOps, days, db_url: str) -> None:
    """What the progress bar draws: a fraction per commit walked, rising to 1 at the tip."""
    base(gitops, days())
    for n in range(3):
        bump(gitops, MEDIA, f"1.{n}", days())
    gitops.migrate_suite("infra-a", pr=1, date=days())
    gitops.builder.flush()
    heard: list[float] = []
    with session_scope(db_url) as session:
        record_history(session, gitops.builder.path, "key", progress=heard.append)
    assert heard == [0.0, 0.25, 0.5, 0.75, 1.0]  # five commits a week apart; the last one is the tip


def test_every_field_of_every_event_is_stored_as_the_walk_found_it(gitops: GitOps, days, db_url: str) -> None:
    """Events go to the store through the driver's executemany (``db.insert_many``): each field
    reads back as the walk's transition had it, on SQLite and PostgreSQL alike."""
    base(gitops, days())
    gitops.migrate_suite("infra-b", pr=7, date=days())
    gitops.builder.delete("ci/test/infra-b/chainsaw-test.yaml")
    gitops.commit("chore: drop the b test for now", date=days())  # a regression, and no PR number
    gitops.migrate_suite("apps-media", pr=20, date=days())
    gitops.rename_module(MEDIA, f"{APPS}/movies", date=days(), pr=21)  # renamed_from
    gitops.builder.flush()
    path = gitops.builder.path
    found = update(db_url, path).events
    with session_scope(db_url) as session:
        rows = stored_events(session, str(path.resolve()))
        back = [(row.seq, row.transition()) for row in rows]
    assert [seq for seq, _ in back] == list(range(len(found)))
    assert {t.kind for t in found} >= {"born", "changed", "renamed"} and any(t.regression for t in found)
    assert any(t.pr is None for t in found) and any(t.pr is not None for t in found)
    for (_, got), want in zip(back, found, strict=True):
        when = got.date if got.date.tzinfo else got.date.replace(tzinfo=UTC)  # SQLite keeps no zone: UTC
        assert when == want.date
        assert (got.path, got.from_status, got.to_status, got.kind, got.renamed_from, got.regression, got.commit,
                got.author, got.subject, got.pr) == (want.path, want.from_status, want.to_status, want.kind,
                want.renamed_from, want.regression, want.commit, want.author, want.subject, want.pr)  # fmt: skip
