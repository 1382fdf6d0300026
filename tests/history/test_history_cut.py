"""A scan of an older commit shows the history up to that commit, and says which commit it shows."""

from __future__ import annotations

import re
import warnings

from app.config import Settings
from app.repobuilder.gitops import GitOps
from app.services import scan_and_store
from app.services.history import history_cut
from app.store.db import session_scope
from app.web.history import history_context, module_history_context
from app.web.main import create_app
from tests.history.conftest import A_CORE, B_CORE, MEDIA, base, stored, update
from tests.history.test_history_branches import on_branch

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def three_migrations(gitops: GitOps, days):
    base(gitops, days())
    older = gitops.migrate_suite("infra-a", pr=1, date=days())
    gitops.migrate_suite("infra-b", pr=2, date=days())
    tip = gitops.migrate_suite("apps-media", pr=3, date=days())
    gitops.builder.tag("v1", older)
    return older, tip


def test_a_scan_of_an_older_commit_shows_the_history_up_to_it(gitops: GitOps, days, db_url: str) -> None:
    older, tip = three_migrations(gitops, days)
    on_branch(gitops, "infra-b", "feature/b", older, days())  # in flight against the tip only
    gitops.builder.flush()
    path = gitops.builder.path

    scan, result = scan_and_store(db_url, path, ref=older.sha)
    everything = stored(db_url, path)
    assert scan.history_upto == max(i for i, e in enumerate(everything) if e["commit"] == older.sha)
    shown = everything[: scan.history_upto + 1]  # four modules born legacy, then infra-a migrated
    assert [e["to"] for e in shown] == ["legacy"] * 4 + ["migrated"] * 2
    assert result.summary.line() == "2 of 4 modules migrated (50%)"

    with session_scope(db_url) as session:
        history = history_context(session)["history"]
        timeline = module_history_context(session, B_CORE)["timeline"]
        media = module_history_context(session, MEDIA)["timeline"]
    assert [e["commit"] for e in reversed(history["events"])] == [e["commit"] for e in shown]
    assert history["total_events"] == len(shown) == 6
    assert "Burndown: 2 of 4 modules not yet migrated" in history["chart"]  # not the tip's 0 of 4
    assert history["cut"] == {"commit": older.sha, "ref": older.sha, "tip": tip.sha}
    assert history["branches"] == [] and history["stale_branches"] == []
    assert [(e["from"], e["to"]) for e in timeline["events"]] == [(None, "legacy")]  # b-core's migration is later
    assert [(e["from"], e["to"]) for e in media["events"]] == [(None, "legacy")]
    assert timeline["cut"]["commit"] == older.sha and timeline["branches"] == []

    client = TestClient(create_app(Settings(database_url=db_url)))
    said = f"History up to {older.sha[:8]} (the scanned commit); the default branch is at {tip.sha[:8]}."
    assert said in text_of(client.get("/").text)
    page = client.get(f"/modules/{B_CORE}").text
    assert said in text_of(page)
    assert "legacy → migrated" not in text_of(page.split('data-testid="timeline"', 1)[1])

    scan, _ = scan_and_store(db_url, path)  # back at the tip: all of it, and no word of a cut
    assert scan.history_upto is None
    with session_scope(db_url) as session:
        history = history_context(session)["history"]
    assert history["cut"] is None and history["total_events"] == len(everything)
    assert "History up to" not in client.get("/").text


def test_a_tag_and_a_commit_off_the_branch_cut_at_what_they_descend_from(gitops: GitOps, days, db_url: str) -> None:
    older, tip = three_migrations(gitops, days)
    side = on_branch(gitops, "infra-b", "feature/b", older, days())
    gitops.builder.flush()
    path = gitops.builder.path
    update(db_url, path)
    key = str(path.resolve())
    everything = stored(db_url, path)
    at_older = max(i for i, e in enumerate(everything) if e["commit"] == older.sha)

    with session_scope(db_url) as session:
        assert history_cut(session, path, key, tip.sha, tip.sha) is None  # the tip itself: everything
        assert history_cut(session, path, key, older.sha, tip.sha) == at_older
        assert history_cut(session, path, key, side.sha, tip.sha) == at_older  # a branch: up to its fork
        first = everything[0]["commit"]
        assert history_cut(session, path, key, first, tip.sha) == max(
            i for i, e in enumerate(everything) if e["commit"] == first
        )
    scan, _ = scan_and_store(db_url, path, ref="v1")
    assert scan.history_upto == at_older


def test_nothing_is_shown_before_the_first_event(gitops: GitOps, days, db_url: str) -> None:
    gitops.builder.write("README.md", "# platform\n")
    empty = gitops.commit("docs: a readme", date=days())
    base(gitops, days())
    gitops.builder.flush()
    path = gitops.builder.path
    scan, _ = scan_and_store(db_url, path, ref=empty.sha)
    assert scan.history_upto == -1
    with session_scope(db_url) as session:
        assert history_context(session)["history"]["events"] == []
        assert module_history_context(session, A_CORE)["timeline"]["events"] == []


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" .", ".").replace(" ;", ";").replace(" ,", ",")


def test_a_regression_after_the_scanned_commit_is_not_held_against_it(gitops: GitOps, days, db_url: str) -> None:
    base(gitops, days())
    good = gitops.migrate_suite("infra-b", pr=7, date=days())
    gitops.builder.delete("ci/test/infra-b/chainsaw-test.yaml")
    gitops.commit("chore: drop the b test for now", date=days())
    gitops.builder.flush()
    path = gitops.builder.path
    client = TestClient(create_app(Settings(database_url=db_url)))

    scan_and_store(db_url, path)
    assert [r["module"] for r in client.get("/api/status").json()["regressions"]] == [B_CORE]
    scan_and_store(db_url, path, ref=good.sha)  # the commit before it broke: nothing stands against it
    assert client.get("/api/status").json()["regressions"] == []
