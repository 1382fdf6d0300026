"""The walk over a generated history: transitions, regressions, renames, removals."""

from __future__ import annotations

import gc
from pathlib import Path

from app.repobuilder.gitops import APPS, INFRA, GitOps, flux_kustomization
from app.scanner.config import ScanConfig
from app.scanner.history import walk_history
from app.scanner.history_scan import HistoryScanner, relevant_paths
from tests.history.conftest import A_CORE, A_EXTRA, B_CORE, MEDIA, base, bump, stored, update


def walk(path: Path):
    config = ScanConfig()
    with HistoryScanner(path, config) as scanner:
        return walk_history(path, "HEAD", relevant_paths(config), scanner)


def test_suites_migrated_one_by_one(gitops: GitOps, days, db_url: str) -> None:
    base(gitops, days())
    bump(gitops, MEDIA, "1.1", days())
    first = gitops.migrate_suite("infra-a", pr=101, date=days())
    bump(gitops, A_CORE, "2.0", days())
    gitops.migrate_suite("infra-b", pr=102, date=days())
    gitops.migrate_suite("apps-media", pr=103, date=days())
    gitops.builder.flush()
    path = gitops.builder.path

    result = walk(path)
    assert [(t.path, t.from_status, t.to_status, t.pr) for t in result.transitions] == [
        (MEDIA, None, "legacy", None),  # in path order within a commit
        (A_CORE, None, "legacy", None),
        (A_EXTRA, None, "legacy", None),
        (B_CORE, None, "legacy", None),
        (A_CORE, "legacy", "migrated", 101),
        (A_EXTRA, "legacy", "migrated", 101),
        (B_CORE, "legacy", "migrated", 102),
        (MEDIA, "legacy", "migrated", 103),
    ]
    assert result.transitions[4].commit == first.sha
    assert result.transitions[4].subject.endswith("(#101)")
    assert not any(t.regression for t in result.transitions)
    # the two content-only bumps never touched a blob the scanner reads: no scan for them
    assert (result.commits, result.scans) == (6, 4)

    update(db_url, path)
    items = stored(db_url, path, A_CORE)
    assert [(e["from"], e["to"], e["pr"]) for e in items] == [(None, "legacy", None), ("legacy", "migrated", 101)]
    assert set(items[0]) == {
        "module", "path", "from", "to", "kind", "renamed_from", "regression", "commit", "date", "author", "subject", "pr"
    }  # fmt: skip


def test_migrated_back_to_untested_is_a_regression(gitops: GitOps, days) -> None:
    base(gitops, days())
    gitops.migrate_suite("infra-b", pr=7, date=days())
    gitops.builder.delete("ci/test/infra-b/chainsaw-test.yaml")
    broke = gitops.commit("chore: drop the b test for now", date=days())
    gitops.builder.flush()

    regressions = [t for t in walk(gitops.builder.path).transitions if t.regression]
    assert [(t.path, t.from_status, t.to_status, t.commit) for t in regressions] == [
        (B_CORE, "migrated", "untested", broke.sha)
    ]


def test_a_module_born_legacy_after_the_migration_started_is_a_regression(gitops: GitOps, days) -> None:
    base(gitops, days())  # born legacy before any chainsaw test: the starting point, not a regression
    gitops.migrate_suite("infra-a", pr=1, date=days())
    gitops.add_module(f"{APPS}/late")
    gitops.add_legacy_suite("apps-late", [f"{APPS}/late"])
    gitops.commit("feat: late app with an old-style test", date=days())
    gitops.builder.flush()

    transitions = walk(gitops.builder.path).transitions
    assert [(t.path, t.kind) for t in transitions if t.regression] == [(f"{APPS}/late", "born")]


def test_a_module_born_migrated(gitops: GitOps, days) -> None:
    base(gitops, days())
    gitops.add_module(f"{INFRA}/c-core")
    gitops.add_chainsaw_suite("infra-c", [f"{INFRA}/c-core"])
    born = gitops.commit("feat: c-core, tested with chainsaw from day one (#55)", date=days())
    gitops.builder.flush()

    last = walk(gitops.builder.path).transitions[-1]
    assert (last.path, last.from_status, last.to_status, last.kind, last.commit, last.pr, last.regression) == (
        f"{INFRA}/c-core", None, "migrated", "born", born.sha, 55, False
    )  # fmt: skip


def test_a_renamed_module_keeps_its_history(gitops: GitOps, days, db_url: str) -> None:
    base(gitops, days())
    gitops.migrate_suite("apps-media", pr=20, date=days())
    renamed = gitops.rename_module(MEDIA, f"{APPS}/movies", date=days(), pr=21)
    gitops.builder.flush()
    path = gitops.builder.path

    last = walk(path).transitions[-1]
    assert (last.path, last.renamed_from, last.kind, last.from_status, last.to_status, last.commit) == (
        f"{APPS}/movies", MEDIA, "renamed", "migrated", "migrated", renamed.sha
    )  # fmt: skip
    update(db_url, path)
    timeline = stored(db_url, path, f"{APPS}/movies")
    assert [(e["path"], e["kind"], e["to"]) for e in timeline] == [
        (MEDIA, "born", "legacy"),
        (MEDIA, "changed", "migrated"),
        (f"{APPS}/movies", "renamed", "migrated"),
    ]
    assert stored(db_url, path, MEDIA) == []  # the old name is no module of its own


def test_a_deleted_module_is_removed(gitops: GitOps, days) -> None:
    base(gitops, days())
    gone = gitops.remove_module(B_CORE, date=days(), pr=30)
    gitops.builder.flush()

    result = walk(gitops.builder.path)
    last = result.transitions[-1]
    assert (last.path, last.from_status, last.to_status, last.kind, last.commit, last.regression) == (
        B_CORE, "legacy", None, "removed", gone.sha, False
    )  # fmt: skip
    assert B_CORE not in result.statuses


def test_no_relevant_commits(tmp_path: Path, db_url: str) -> None:
    from app.repobuilder import RepoBuilder

    with RepoBuilder(tmp_path / "docs") as builder:
        builder.write("README.md", "# docs\n")
        builder.commit("docs")
        builder.write("docs/guide.md", "hello\n")
        builder.commit("more docs")
    path = tmp_path / "docs"
    assert walk(path).commits == 0
    first = update(db_url, path)
    assert (first.events, first.commits, first.full) == ([], 0, True)
    assert update(db_url, path).full is False  # the processed commit was stored
    assert stored(db_url, path) == []


def test_an_empty_repository(tmp_path: Path, db_url: str) -> None:
    import git

    git.Repo.init(tmp_path / "empty").close()
    result = update(db_url, tmp_path / "empty")
    assert (result.events, result.commits, result.last_commit) == ([], 0, None)


def test_a_migration_merged_with_a_merge_commit(gitops: GitOps, days) -> None:
    base(gitops, days())
    fork = gitops.builder.head()
    gitops.builder.delete("ci/test/infra-b/kustomization.yaml")
    gitops.add_chainsaw_suite("infra-b", [B_CORE])
    side = gitops.commit("test: b on chainsaw", branch="migrate-b", parent=fork, date=days())
    bump(gitops, MEDIA, "1.3", days())  # main moved on meanwhile
    # the merge's tree holds both sides, as git merge would leave it
    gitops.builder.delete("ci/test/infra-b/kustomization.yaml")
    gitops.add_chainsaw_suite("infra-b", [B_CORE])
    merge = gitops.commit("Merge pull request #1010 from team/migrate-b", merge=side, date=days())
    gitops.builder.flush()

    last = walk(gitops.builder.path).transitions[-1]
    assert (last.path, last.from_status, last.to_status, last.commit, last.pr) == (
        B_CORE, "legacy", "migrated", merge.sha, 1010
    )  # fmt: skip


def test_a_marker_rule_repository_read_with_its_own_sawmill_yaml(tmp_path: Path, days, db_url: str) -> None:
    """Policy folders holding their own tests, moved from kuttl to chainsaw one by one."""
    from app.repobuilder import RepoBuilder
    from app.repobuilder.gitops import dump

    pod = dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}})
    chainsaw = dump({
        "apiVersion": "chainsaw.kyverno.io/v1alpha1", "kind": "Test", "metadata": {"name": "t"},
        "spec": {"steps": [{"try": [{"apply": {"file": "../policy.yaml"}}]}]},
    })  # fmt: skip
    with RepoBuilder(tmp_path / "policies") as b:
        b.write("sawmill.yaml", "modules:\n  marker: '**/artifacthub-pkg.yml'\n")
        b.write("kuttl-test.yaml", dump({"apiVersion": "kuttl.dev/v1beta1", "kind": "TestSuite", "testDirs": ["./"]}))
        for policy in ("best-practices/require-labels", "other/pod-security"):
            b.write(f"{policy}/artifacthub-pkg.yml", "name: x\n").write(f"{policy}/policy.yaml", pod)
            b.write(f"{policy}/00-install.yaml", pod).write(f"{policy}/01-assert.yaml", pod)
        b.commit("feat: two policies with kuttl tests", date=days())
        b.delete("best-practices/require-labels/00-install.yaml").delete("best-practices/require-labels/01-assert.yaml")
        b.write("best-practices/require-labels/.chainsaw-test/chainsaw-test.yaml", chainsaw)
        moved = b.commit("test: require-labels on chainsaw (#4)", date=days())
    path = tmp_path / "policies"

    update(db_url, path)
    assert [(e["path"], e["from"], e["to"], e["commit"]) for e in stored(db_url, path) if e["from"]] == [
        ("best-practices/require-labels", "legacy", "migrated", moved.sha)
    ]


def test_an_edit_to_a_test_file_alone_moves_a_module(gitops: GitOps, days) -> None:
    from app.repobuilder.gitops import kustomize

    base(gitops, days())
    bump(gitops, A_EXTRA, "1.1", days())
    gitops.builder.write("ci/test/infra-a/kustomization.yaml", kustomize(["infra-a-core.yaml"]))
    edit = gitops.commit("test: stop testing a-extra for now", date=days())
    gitops.builder.flush()

    last = walk(gitops.builder.path).transitions[-1]
    assert (last.path, last.from_status, last.to_status, last.commit) == (A_EXTRA, "legacy", "untested", edit.sha)


def tune_b(gitops: GitOps, days, times: int) -> None:
    """The base modules, then ``times`` commits each editing infra-b's test manifest."""
    base(gitops, days())
    for n in range(times):
        gitops.builder.write("ci/test/infra-b/infra-b-core.yaml", flux_kustomization(f"tune-{n}", B_CORE))
        gitops.commit(f"test: tune b ({n})", date=days())
    gitops.builder.flush()


def test_every_blob_the_walk_reads_was_read_ahead_even_when_a_path_changes_twice_in_a_window(gitops: GitOps, days) -> None:
    """One round trip to git per window of commits, not one per blob: a test manifest edited
    several times between two reads-ahead has each of its versions fetched with the window."""
    from app.scanner.history_scan import TrackingCache

    tune_b(gitops, days, 4)
    path, config = gitops.builder.path, ScanConfig()
    one_by_one: list[str] = []
    with HistoryScanner(path, config) as scanner:
        source = scanner._source

        def read(sha: str) -> bytes:
            one_by_one.append(sha)
            return source.read(sha)

        scanner.cache = TrackingCache(read, source.read_many)
        result = walk_history(path, "HEAD", relevant_paths(config), scanner)
    assert result.scans == 5  # each version was looked at...
    assert one_by_one == []  # ...and none was fetched on its own


def test_the_first_commit_is_scanned_before_the_rest_of_the_log_is_read(gitops: GitOps, days) -> None:
    """The first commit of a large tree is most of a walk's work; git writes the rest of the log
    meanwhile (see history_log._log) only if the walk scans it before reading further."""
    tune_b(gitops, days, 3)
    path, config = gitops.builder.path, ScanConfig()
    calls: list[tuple[str, int]] = []

    class Recording(HistoryScanner):
        def prefetch(self, files):
            entries = list(files.items() if isinstance(files, dict) else files)
            calls.append(("prefetch", len(entries)))
            super().prefetch(entries)

        def statuses(self, files, changed=None):
            calls.append(("statuses", len(files)))
            return super().statuses(files, changed)

    with Recording(path, config) as scanner:
        walk_history(path, "HEAD", relevant_paths(config), scanner)
    first = calls[1][1]  # the files the first commit added
    assert first > 3
    # nothing known before the walk; the first commit alone, scanned; then the other three at once
    assert calls[:4] == [("prefetch", 0), ("prefetch", first), ("statuses", first), ("prefetch", 3)]


def test_a_walk_parses_a_deployed_file_only_when_it_can_name_a_module(gitops: GitOps, days) -> None:
    """Statuses only: an asserted file is never parsed, a deployed one only once its bytes can
    spell a Flux Kustomization; one spelling it through a YAML escape links all the same, and
    the statuses at each commit are a fresh scan's."""
    from app.scanner import scan
    from app.scanner.history import replay
    from app.scanner.parse import SHARED

    test = "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: a}\nspec:\n  steps:\n" \
           "  - try:\n    - apply: {file: deploy.yaml}\n    - assert: {file: ready.yaml}\n"  # fmt: skip
    for module in (A_CORE, B_CORE):
        gitops.add_module(module)
    folder = "ci/test/infra-a"
    gitops.builder.write_many({f"{folder}/chainsaw-test.yaml": test, f"{folder}/ready.yaml": "kind: Pod\n",
                               f"{folder}/deploy.yaml": "apiVersion: v1\nkind: ConfigMap\n"})  # fmt: skip
    first = gitops.commit("test: a chainsaw test deploying nothing of ours yet", date=days())
    gitops.builder.write(f"{folder}/ready.yaml", "kind: Pod\nmetadata: {name: q}\n")
    gitops.commit("test: wait for another pod", date=days())
    plain = "apiVersion: kustomize.toolkit.fluxcd.io/v1"
    escaped = flux_kustomization("a", A_CORE).replace(plain, 'apiVersion: "kustomize.toolkit.flux\\x63d.io/v1"')
    assert "fluxcd" not in escaped
    gitops.builder.write(f"{folder}/deploy.yaml", escaped)
    linked = gitops.commit("test: deploy a-core", date=days())
    gitops.builder.write(f"{folder}/deploy.yaml", flux_kustomization("b", B_CORE))
    moved = gitops.commit("test: deploy b-core instead", date=days())
    gitops.builder.flush()

    SHARED.clear()
    path = gitops.builder.path
    result = walk(path)
    moves = [(t.path, t.from_status, t.to_status, t.commit) for t in result.transitions if t.from_status]
    assert moves == [(A_CORE, "untested", "migrated", linked.sha), (A_CORE, "migrated", "untested", moved.sha),
                     (B_CORE, "untested", "migrated", moved.sha)]  # fmt: skip
    assert result.scans == 3  # not the asserted file's edit: nothing looked inside it
    shas = [c.sha for c in (first, linked, moved)]
    for i, sha in enumerate(shas):
        fresh = {m.path: str(m.status) for m in scan(path, ref=sha).modules}
        assert replay(t for t in result.transitions if t.commit in shas[: i + 1]) == fresh

    def parsed(commit, name: str) -> bool:
        return gitops.builder.repo.git.rev_parse(f"{commit.sha}:{folder}/{name}") in SHARED

    SHARED.clear()
    walk(path)
    assert parsed(first, "chainsaw-test.yaml") and parsed(linked, "deploy.yaml") and parsed(moved, "deploy.yaml")
    assert not parsed(first, "deploy.yaml") and not parsed(first, "ready.yaml") and not parsed(moved, "ready.yaml")


def test_a_walk_runs_with_the_collector_paused_and_restores_it(gitops: GitOps, days) -> None:
    """See app.scanner.collector: collections during a walk traverse its structures for nothing."""
    base(gitops, days())
    for n in range(3):
        bump(gitops, A_CORE, f"1.{n}", days())
    gitops.builder.flush()
    path, config = gitops.builder.path, ScanConfig()
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            seen: list[bool] = []
            with HistoryScanner(path, config) as scanner:
                walk = walk_history(path, "HEAD", relevant_paths(config), scanner, progress=lambda _: seen.append(gc.isenabled()))
            assert walk.commits == 4 and seen == [False] * 4
            assert gc.isenabled() is enabled  # as the walk found it
        finally:
            gc.enable()


def test_statuses_are_the_same_dict_until_one_moves_and_then_a_new_one() -> None:
    """The walk tells "nothing moved" by identity; a new result reuses each untouched Module,
    and the walk is told which statuses moved or came (those gone show as fewer paths)."""
    from app.scanner.history_scan import _statuses
    from app.scanner.model import Module, Status

    def module(name: str, status: Status) -> Module:
        path = name if "/" in name else f"{INFRA}/{name}"
        return Module(path=path, name=path.rsplit("/", 1)[1], group="infrastructure", status=status)

    first = [module(A_CORE, Status.LEGACY), module(B_CORE, Status.LEGACY), module(MEDIA, Status.UNTESTED)]
    before, moved = _statuses(first, (), {})
    assert before == {A_CORE: "legacy", B_CORE: "legacy", MEDIA: "untested"} and sorted(moved) == sorted(before)
    evidence_only = [first[0], module(B_CORE, Status.LEGACY), first[2]]  # B's evidence moved, not its status
    assert _statuses(evidence_only, first, before) == (before, []) and _statuses(evidence_only, first, before)[0] is before
    assert _statuses(list(first), first, before)[0] is before
    migrated = [first[0], module(B_CORE, Status.MIGRATED), first[2]]
    after, moved = _statuses(migrated, first, before)
    assert after == {**before, B_CORE: "migrated"} and before[B_CORE] == "legacy" and moved == [B_CORE]
    renamed = [first[0], module("b-renamed", Status.LEGACY), first[2]]  # as many modules, another path
    assert _statuses(renamed, first, before) == (
        {A_CORE: "legacy", f"{INFRA}/b-renamed": "legacy", MEDIA: "untested"}, [f"{INFRA}/b-renamed"]
    )
    new = module("0-new", Status.MIGRATED)  # born at either end, or between
    for born in ([new, *first], [first[0], new, *first[1:]], [*first, module("zz-new", Status.MIGRATED)]):
        assert _statuses(born, first, before) == ({**before, born_path(born, first): "migrated"}, [born_path(born, first)])
    for gone in (first[1:], [first[0], first[2]], first[:2], []):  # those gone show as fewer paths
        assert _statuses(gone, first, before) == ({m.path: str(m.status) for m in gone}, [])
    # one gone and one born, another's status moved: as many modules as before
    mixed = [module("a-new", Status.UNTESTED), module(B_CORE, Status.MIGRATED), first[2]]
    after, moved = _statuses(mixed, first, before)
    assert after == {f"{INFRA}/a-new": "untested", B_CORE: "migrated", MEDIA: "untested"}
    assert sorted(moved) == sorted([f"{INFRA}/a-new", B_CORE])
    # changes far apart: what lies between the two ends is read, whatever it holds
    spread = [module(A_CORE, Status.MIGRATED), first[1], module("x-new", Status.LEGACY), first[2]]
    assert _statuses(spread, first, before) == ({**before, A_CORE: "migrated", f"{INFRA}/x-new": "legacy"}, [A_CORE, f"{INFRA}/x-new"])


def born_path(modules: list, before: list) -> str:
    return next(m.path for m in modules if all(m is not b for b in before))


def test_the_walk_s_transitions_are_the_same_with_and_without_the_oracle_s_hint(gitops: GitOps, days) -> None:
    """The hint of what moved spares comparing every status; without it (another oracle) the
    walk compares them and finds the same transitions."""
    base(gitops, days())
    gitops.migrate_suite("infra-b", pr=2, date=days())
    bump(gitops, A_CORE, "1.1", days())
    gitops.migrate_suite("infra-a", pr=3, date=days())
    gitops.builder.flush()
    path, config = gitops.builder.path, ScanConfig()
    hints: list = []

    class Unhinted(HistoryScanner):
        def statuses(self, files, changed=None):
            now = super().statuses(files, changed)
            hints.append(self.moved)
            del self.moved  # as an oracle that gives no hint
            return now

    with HistoryScanner(path, config) as scanner:
        hinted = walk_history(path, "HEAD", relevant_paths(config), scanner)
    with Unhinted(path, config) as scanner:
        unhinted = walk_history(path, "HEAD", relevant_paths(config), scanner)
    assert [B_CORE] in hints and [A_CORE, A_EXTRA] in hints  # moves were hinted
    assert hinted.transitions == unhinted.transitions and len(hinted.transitions) == 7


def test_a_deployed_file_edited_twice_without_a_scan_between_is_still_watched(gitops: GitOps, days) -> None:
    """Its first edit answers the byte test as before, so no scan tests the second version: that
    version must be judged as the first was, or the edit that makes it a Flux Kustomization is lost."""
    from app.scanner import scan

    test = "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: a}\nspec:\n  steps:\n" \
           "  - try:\n    - apply: {file: deploy.yaml}\n"  # fmt: skip
    gitops.add_module(A_CORE)
    gitops.builder.write_many({"ci/test/infra-a/chainsaw-test.yaml": test,
                               "ci/test/infra-a/deploy.yaml": "kind: ConfigMap\ndata: {v: '1'}\n"})  # fmt: skip
    gitops.commit("test: deploy a config map", date=days())
    gitops.builder.write("ci/test/infra-a/deploy.yaml", "kind: ConfigMap\ndata: {v: '2'}\n")
    gitops.commit("test: another config map", date=days())
    gitops.builder.write("ci/test/infra-a/deploy.yaml", flux_kustomization("a", A_CORE))
    linked = gitops.commit("test: deploy a-core", date=days())
    gitops.builder.flush()

    result = walk(gitops.builder.path)
    assert [(t.path, t.from_status, t.to_status, t.commit) for t in result.transitions if t.from_status] == [
        (A_CORE, "untested", "migrated", linked.sha)
    ]
    assert result.scans == 2  # the second config map needed none
    assert {m.path: str(m.status) for m in scan(gitops.builder.path).modules} == {A_CORE: "migrated"}


def test_an_edit_no_byte_test_tells_apart_makes_no_analysis_again_at_the_next_rescan(gitops: GitOps, days) -> None:
    """A deployed file bumped (still no Flux Kustomization) needs no rescan; when a later commit
    does need one, the test that deployed the file is not analysed again for it: its memo entry
    still holds the version it read, and the statuses are a fresh scan's at every commit."""
    from app.scanner import scan
    from app.scanner.history import replay

    test = "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: a}\nspec:\n  steps:\n" \
           "  - try:\n    - apply: {file: deploy.yaml}\n"  # fmt: skip
    folder = "ci/test/infra-a"
    gitops.add_module(A_CORE)
    gitops.builder.write_many({f"{folder}/chainsaw-test.yaml": test, f"{folder}/deploy.yaml": "kind: ConfigMap\n"})
    first = gitops.commit("test: deploy a config map", date=days())
    gitops.builder.write(f"{folder}/deploy.yaml", "kind: ConfigMap\ndata: {v: '2'}\n")
    bumped = gitops.commit("test: another config map", date=days())
    gitops.add_module(B_CORE)
    born = gitops.commit("feat: b-core", date=days())
    gitops.builder.flush()

    path, config = gitops.builder.path, ScanConfig()
    with HistoryScanner(path, config) as scanner:
        result = walk_history(path, "HEAD", relevant_paths(config), scanner)
        files, _deps, _found = scanner.cache.memo[("chainsaw", f"{folder}/chainsaw-test.yaml")]
        read = dict(files)[f"{folder}/deploy.yaml"].sha
    assert result.scans == 2  # the first commit and b-core's; not the bump
    assert read == gitops.builder.repo.git.rev_parse(f"{first.sha}:{folder}/deploy.yaml")  # not analysed again
    shas = [c.sha for c in (first, bumped, born)]
    for i, sha in enumerate(shas):
        fresh = {m.path: str(m.status) for m in scan(path, ref=sha).modules}
        assert replay(t for t in result.transitions if t.commit in shas[: i + 1]) == fresh


def test_a_deployed_file_that_becomes_a_submodule_is_gone_from_the_walk(gitops: GitOps, days) -> None:
    """A gitlink has no blob: the Flux Kustomization that was there no longer links the module,
    in the walk as in a fresh scan."""
    from app.scanner import scan
    from app.scanner.history import replay

    test = "apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: a}\nspec:\n  steps:\n" \
           "  - try:\n    - apply: {file: deploy.yaml}\n"  # fmt: skip
    gitops.add_module(A_CORE)
    gitops.builder.write_many({"ci/test/infra-a/chainsaw-test.yaml": test,
                               "ci/test/infra-a/deploy.yaml": flux_kustomization("a", A_CORE)})  # fmt: skip
    linked = gitops.commit("test: deploy a-core", date=days())
    gitops.builder.submodule("ci/test/infra-a/deploy.yaml", "1" * 40)
    gone = gitops.commit("chore: the manifest moves to a submodule", date=days())
    gitops.builder.flush()

    result = walk(gitops.builder.path)
    assert [(t.from_status, t.to_status, t.commit) for t in result.transitions if t.from_status] == [
        ("migrated", "untested", gone.sha)
    ]
    shas = [linked.sha, gone.sha]
    for i, sha in enumerate(shas):
        fresh = {m.path: str(m.status) for m in scan(gitops.builder.path, ref=sha).modules}
        assert replay(t for t in result.transitions if t.commit in shas[: i + 1]) == fresh
