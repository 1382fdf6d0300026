"""Which branch is the default one, and which other branches carry work in flight.

Real repositories: built with GitOps, then cloned, mirrored and checked out
with git itself, as a team's machines would hold them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import get_settings
from app.repobuilder import Commit
from app.repobuilder.gitops import GitOps
from app.scanner import scan
from app.scanner.history_scan import default_branch, read_branches
from app.services import scan_and_store
from app.store.db import session_scope
from app.store.history import branches, in_flight
from tests.history.conftest import A_CORE, A_EXTRA, B_CORE, MEDIA, base, bump, stored, update


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def on_branch(gitops: GitOps, suite: str, branch: str, parent: Commit | str, date, *, keep_legacy: bool = False) -> Commit:
    """One commit on ``branch`` (from ``parent``) moving ``suite`` to chainsaw; with
    ``keep_legacy`` the legacy suite stays beside it (the module is then in progress)."""
    old = gitops.suites[suite]
    if not keep_legacy:
        gitops.builder.delete(f"{old.folder}/kustomization.yaml")
        gitops.builder.delete(old.workflow)
    gitops.add_chainsaw_suite(suite, old.modules)
    return gitops.commit(f"wip: {suite} on chainsaw", branch=branch, parent=parent, date=date)


def statuses(result) -> dict[str, tuple[str, str | None]]:
    return {m.path: (str(m.status), m.branch) for m in result.modules}


def in_flight_of(db_url: str, key: str) -> dict[str, str]:
    with session_scope(db_url) as session:
        return in_flight(session, key)


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set SAWMILL_* variables for ``scan_and_store``; the settings are read afresh."""
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def long_history(gitops: GitOps, days) -> tuple[Commit, Commit]:
    """Months of main: b-core migrated (the older commit), then a-core and a-extra (later).

    Branches forked from the later main carry nothing of their own that moves a
    module: one points into main, one only bumps a chart, one is main's tip.
    """
    base(gitops, days())
    for n in range(4):
        bump(gitops, MEDIA, f"1.{n}", days())
    older = gitops.migrate_suite("infra-b", pr=1, date=days())
    for n in range(4):
        bump(gitops, A_CORE, f"2.{n}", days())
    merged = gitops.migrate_suite("infra-a", pr=2, date=days())
    bump(gitops, MEDIA, "3.0", days())
    gitops.builder.write("docs/notes.md", "notes\n")
    later = gitops.commit("docs: notes", date=days())
    gitops.builder.branch("feature/a", merged)  # merged long ago, never deleted
    gitops.builder.branch("release/2025.1", later)
    gitops.builder.write(f"{A_CORE}/app/helmrelease.yaml", "apiVersion: v1\nkind: ConfigMap\ndata: {v: '9'}\n")
    gitops.commit("chore: bump a-core on a branch", branch="feature/bump", parent=later, date=days())
    gitops.builder.flush()
    return older, later


def clone_at(source: Path, target: Path, commit: str) -> Path:
    """``git clone``, then ``git checkout -B main <commit>``: the bug report's clone."""
    git(source.parent, "clone", "--quiet", str(source), str(target))
    git(target, "checkout", "--quiet", "-B", "main", commit)
    return target


def test_a_clone_checked_out_at_an_older_commit_scans_as_that_commit(gitops: GitOps, days, db_url: str, tmp_path) -> None:
    older, later = long_history(gitops, days)
    clone = clone_at(gitops.builder.path, tmp_path / "clone", older.sha)

    stored_scan, result = scan_and_store(db_url, clone)

    assert result.commit == older.sha
    alone = scan(gitops.builder.path, ref=older.sha)  # the commit with no branch around it
    assert statuses(result) == statuses(alone)
    assert statuses(result)[A_CORE] == ("legacy", None)  # migrated on the later main, not in flight
    assert stored_scan.history_upto is None  # the scan is of the default branch's tip: all of its history
    history = stored(db_url, clone)
    assert history[-1]["commit"] == older.sha  # the history stops at that commit
    assert not [e for e in history if e["commit"] == later.sha]

    # one commit of its own, on a branch made in the clone: that module alone is in flight
    wip = on_branch(gitops, "apps-media", "parked", older, days())
    gitops.builder.flush()
    git(clone, "fetch", "--quiet", str(gitops.builder.path), "parked:refs/heads/wip/media")

    _, again = scan_and_store(db_url, clone)
    moved = {path: s for path, s in statuses(again).items() if s != statuses(alone)[path]}
    assert moved == {MEDIA: ("in_progress", "wip/media")}
    assert in_flight_of(db_url, str(clone.resolve())) == {MEDIA: "wip/media"}
    with session_scope(db_url) as session:
        assert [b["commit"] for b in branches(session, str(clone.resolve()))] == [wip.sha]


def test_the_default_branchs_remote_twins_and_branches_with_no_commits_of_their_own_never_count(
    gitops: GitOps, days, db_url: str
) -> None:
    base(gitops, days())
    main = gitops.migrate_suite("infra-a", pr=1, date=days())
    pushed = on_branch(gitops, "apps-media", "twin", main, days())  # main's remote ran ahead
    builder = gitops.builder
    builder.remote_branch("origin", "main", pushed)
    builder.remote_branch("upstream", "main", pushed)
    builder.branch("copy", pushed)  # a branch with nothing of its own
    builder.remote_branch("origin", "copy", pushed)
    builder.flush()
    builder.repo.git.branch("-D", "twin")
    path = builder.path

    update(db_url, path)
    assert in_flight_of(db_url, str(path.resolve())) == {}
    _, result = scan_and_store(db_url, path)
    assert statuses(result)[MEDIA] == ("legacy", None)


def test_a_branch_idle_too_long_is_listed_as_stale_and_not_counted(gitops: GitOps, days, db_url: str) -> None:
    from app.web.history import history_context, module_history_context

    base(gitops, days())
    main = gitops.migrate_suite("infra-a", pr=1, date=days())
    idle = on_branch(gitops, "infra-b", "feature/b", main, days())
    for n in range(10):  # ten weeks of main since feature/b's last commit
        bump(gitops, MEDIA, f"1.{n}", days())
    tip = gitops.builder.head()
    fresh = on_branch(gitops, "apps-media", "feature/media", tip, days(), keep_legacy=True)
    gitops.builder.flush()
    path = gitops.builder.path
    key = str(path.resolve())

    _, result = scan_and_store(db_url, path)  # SAWMILL_STALE_BRANCH_DAYS: 60 by default
    assert statuses(result)[B_CORE] == ("legacy", None)
    assert statuses(result)[MEDIA] == ("in_progress", "feature/media")
    with session_scope(db_url) as session:
        assert branches(session, key) == [{"module": MEDIA, "branch": "feature/media", "commit": fresh.sha, "status": "in_progress"}]
        assert branches(session, key, stale=True) == [
            {"module": B_CORE, "branch": "feature/b", "commit": idle.sha, "status": "migrated"}
        ]
        overview = history_context(session)["history"]
        page = module_history_context(session, B_CORE)["timeline"]
    assert [b["branch"] for b in overview["stale_branches"]] == ["feature/b"]
    assert [b["branch"] for b in overview["branches"]] == ["feature/media"]
    assert (page["branches"], [b["branch"] for b in page["stale_branches"]]) == ([], ["feature/b"])

    update(db_url, path, stale_days=90)  # a longer patience counts it again
    assert in_flight_of(db_url, key) == {B_CORE: "feature/b", MEDIA: "feature/media"}
    update(db_url, path, stale_days=0)  # 0: no branch is ever stale
    assert in_flight_of(db_url, key) == {B_CORE: "feature/b", MEDIA: "feature/media"}


def test_the_board_and_module_page_list_a_stale_branch_apart(gitops: GitOps, days, db_url: str) -> None:
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.web.main import create_app

    base(gitops, days())
    main = gitops.migrate_suite("infra-a", pr=1, date=days())
    on_branch(gitops, "infra-b", "feature/b", main, days())
    for n in range(10):
        bump(gitops, MEDIA, f"1.{n}", days())
    gitops.builder.flush()
    scan_and_store(db_url, gitops.builder.path)

    client = TestClient(create_app(Settings(database_url=db_url)))
    board = client.get("/").text
    stale = board.split('data-testid="stale-branches"', 1)[1].split("</div>", 1)[0]
    assert "b-core" in stale and "feature/b" in stale
    assert 'data-testid="in-flight"' not in board
    card = board.split(f'data-module="{B_CORE}"', 1)[1].split("</article>", 1)[0]
    assert "feature/b" not in card  # not counted: the card stays legacy
    module = client.get(f"/modules/{B_CORE}").text
    assert "stale branch <code>feature/b</code>" in module


def test_an_explicit_default_branch_is_followed(gitops: GitOps, days, db_url: str, settings_env) -> None:
    base(gitops, days())
    start = gitops.builder.head()
    gitops.migrate_suite("infra-a", pr=1, date=days())  # on main
    trunk = on_branch(gitops, "infra-b", "trunk", start, days())
    gitops.builder.flush()
    path = gitops.builder.path
    key = str(path.resolve())

    result = update(db_url, path, branch="trunk")
    assert (result.branch, result.last_commit) == ("trunk", trunk.sha)
    assert [(e["module"], e["to"]) for e in stored(db_url, path) if e["kind"] == "changed"] == [(B_CORE, "migrated")]
    # seen from trunk, main is another branch whose own commit migrates infra-a
    assert in_flight_of(db_url, key) == {A_CORE: "main", A_EXTRA: "main"}

    _, scanned = scan_and_store(db_url, path, ref="trunk", branch="trunk")  # SAWMILL_BRANCH, as the CLI and worker pass it
    assert statuses(scanned)[A_CORE] == ("in_progress", "main")
    assert statuses(scanned)[B_CORE] == ("migrated", None)

    with session_scope(db_url) as session, pytest.raises(Exception, match="no branch 'nope'"):
        from app.services.history import record_history

        record_history(session, path, key, branch="nope")


def test_a_bare_mirror_follows_the_branch_its_head_names(gitops: GitOps, days, db_url: str, tmp_path: Path) -> None:
    base(gitops, days())
    start = gitops.builder.head()
    gitops.migrate_suite("infra-a", pr=1, date=days())
    trunk = on_branch(gitops, "infra-b", "trunk", start, days())
    gitops.builder.flush()
    source = gitops.builder.path
    git(source, "symbolic-ref", "HEAD", "refs/heads/trunk")
    mirror = tmp_path / "mirror.git"
    git(tmp_path, "clone", "--quiet", "--mirror", str(source), str(mirror))

    result = update(db_url, mirror)
    assert (result.branch, result.last_commit) == ("trunk", trunk.sha)
    assert read_branches(mirror).default == "trunk"


def test_the_default_branch_of_a_clone_is_the_one_origin_head_names(gitops: GitOps, days, tmp_path: Path) -> None:
    base(gitops, days())
    gitops.migrate_suite("infra-a", pr=1, date=days())
    gitops.builder.flush()
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(gitops.builder.path), str(clone))
    git(clone, "checkout", "--quiet", "-b", "feature/x")  # HEAD is not what names the default branch here

    assert default_branch(clone) == "main"
    assert default_branch(clone, "release") == "release"
    git(clone, "branch", "--quiet", "-D", "main")  # no local main: the walk follows origin/main
    refs = read_branches(clone)
    assert (refs.default, refs.tip.sha) == ("main", git(clone, "rev-parse", "origin/main"))
    assert [t.name for t in refs.twins] == ["origin/main"]
    assert [b.name for b in refs.others] == ["feature/x"]
    git(clone, "remote", "set-head", "origin", "--delete")
    assert default_branch(clone) == "feature/x"  # then the branch HEAD names
    git(clone, "checkout", "--quiet", "--detach")
    assert default_branch(clone) == "HEAD"


def test_a_branch_is_judged_by_its_own_commits_not_by_what_it_took_from_main(gitops: GitOps, days, db_url: str) -> None:
    """b-core was migrated on main, then put back on legacy; a branch that left main in
    between still has it migrated, but moved nothing itself: it is not in flight."""
    base(gitops, days())
    migrated = gitops.migrate_suite("infra-b", pr=5, date=days())
    gitops.builder.write(f"{B_CORE}/app/helmrelease.yaml", "apiVersion: v1\nkind: ConfigMap\ndata: {v: '2'}\n")
    gitops.commit("chore: bump b-core on a branch", branch="feature/bump", parent=migrated, date=days())
    gitops.builder.delete("ci/test/infra-b/chainsaw-test.yaml")
    gitops.add_legacy_suite("infra-b", [B_CORE])
    gitops.commit("revert: b back on the old workflow", date=days())
    gitops.builder.flush()
    path = gitops.builder.path

    update(db_url, path)
    assert in_flight_of(db_url, str(path.resolve())) == {}
