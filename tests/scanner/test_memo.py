"""scan_files over many snapshots with one ParseCache: analyses are reused only while their inputs hold."""

from __future__ import annotations

from pathlib import Path

import git

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import INFRA, GitOps, build_seed_repo, flux_kustomization, seed_history
from app.scanner import GitSource, ParseCache, ScanConfig, relevant, scan, scan_files
from tests.scanner.conftest import chainsaw, template

NET = f"{INFRA}/networking-core"


def counting_cache(source: GitSource) -> tuple[ParseCache, list[str]]:
    read: list[str] = []

    def reader(sha: str) -> bytes:
        read.append(sha)
        return source.read(sha)

    return ParseCache(reader), read


def test_a_second_snapshot_reuses_analyses_and_sees_changes(tmp_path: Path) -> None:
    with RepoBuilder(tmp_path / "r") as builder:
        repo = GitOps(builder)
        repo.add_module(NET)
        repo.add_chainsaw_suite("infra-networking", [NET], asserts=2)
        first = repo.commit("first")
        builder.write("ci/test/infra-networking/validate-infra-networking-core.yaml", template(*[{"assert": {"file": "x"}}] * 7))
        builder.write("unrelated.txt", "x")
        second = repo.commit("more asserts")
    with GitSource(tmp_path / "r") as source:
        blobs, read = counting_cache(source)
        modules, _, _ = scan_files(source.tree(first.sha), blobs, ScanConfig())
        assert modules[0].evidence.chainsaw[0].asserts == 3  # deployment-ready + 1 Kustomization
        reads_after_first = len(read)
        key = ("chainsaw", "ci/test/infra-networking/chainsaw-test.yaml")
        analysis = blobs.memo[key][-1]
        modules, _, _ = scan_files(source.tree(first.sha), blobs, ScanConfig())
        assert len(read) == reads_after_first  # same snapshot: nothing read again
        assert blobs.memo[key][-1] is analysis  # and the analysis reused, not redone
        modules, _, _ = scan_files(source.tree(second.sha), blobs, ScanConfig())
        assert modules[0].evidence.chainsaw[0].asserts == 8  # the changed template was seen
        assert blobs.memo[key][-1] is not analysis
        assert len(read) == reads_after_first + 1  # only the new template blob
    assert scan(tmp_path / "r").modules[0].evidence.chainsaw[0].asserts == 8


def test_relevant_paths_alone_give_the_same_scan(tmp_path: Path) -> None:
    repo = build_seed_repo(tmp_path / "seed")
    config = ScanConfig()
    with GitSource(repo) as source:
        files = source.tree(source.resolve().sha)
        kept = {p: r for p, r in files.items() if relevant(p, config)}
        assert len(kept) < len(files)
        whole = scan_files(files, ParseCache(source.read), config)
        part = scan_files(kept, ParseCache(source.read), config)
    assert [m.to_dict() for m in whole[0]] == [m.to_dict() for m in part[0]]


def results(scanned) -> list:
    modules, components, warnings = scanned
    return [[m.to_dict() for m in modules], [c.to_dict() for c in components], warnings]


def test_a_shared_cache_gives_the_fresh_answer_at_every_commit_in_any_order(tmp_path: Path) -> None:
    """The layout follows added and removed paths; compare with a fresh scan at each step."""
    with RepoBuilder(tmp_path / "r") as builder:
        repo = GitOps(builder)
        seed_history(repo)
        repo.migrate_suite("infra-networking", pr=1010)
        repo.rename_module(f"{INFRA}/storage-core", f"{INFRA}/volumes-core")
        repo.remove_module("apps/subsystems/coder")
        builder.write(f"{INFRA}/media-extra/README.md", "# a folder that becomes a module\n")
        builder.write("ci/test/kuttl/kuttl-test.yaml", "apiVersion: kuttl.dev/v1beta1\nkind: TestSuite\ntestDirs: [ci/test/kuttl/cases]\n")
        builder.write("ci/test/kuttl/cases/media-extra/00-install.yaml", flux_kustomization("x", f"{INFRA}/media-extra"))
        repo.commit("kuttl")
        builder.write("ci/test/kuttl/cases/media-extra/01-assert.yaml", "kind: Pod\n")
        builder.write(f"{INFRA}/globbed-core/README.md", "# globbed\n")
        builder.write("ci/test/globs/chainsaw-test.yaml", chainsaw({"try": [{"apply": {"file": "extras/*.yaml"}}]}))
        repo.commit("a kuttl step more, a chainsaw test that globs")
        builder.write("ci/test/globs/extras/g.yaml", flux_kustomization("g", f"{INFRA}/globbed-core"))
        repo.commit("a file the glob now matches")
        builder.delete("ci/test/kuttl/kuttl-test.yaml")
        repo.commit("kuttl suite file gone")
        # edits only: the shape stays, what was read changes (or not)
        builder.write(
            "ci/test/infra-kubernetes/validate-infra-kubernetes-core.yaml", template(*[{"assert": {"file": "x"}}] * 9)
        )
        repo.commit("more assertions")
        builder.write(f"{INFRA}/networking-core/metallb/helmrelease.yaml", "chart: bumped\n")
        repo.commit("chart bump")
        builder.write("ci/test/apps-media/kustomization.yaml", "resources: []\n")
        repo.commit("media suite emptied")
    commits = [c.hexsha for c in reversed(list(git.Repo(tmp_path / "r").iter_commits("main")))]
    order = commits + commits[::-1] + commits[::3] + commits[1::2]
    config = ScanConfig()
    with GitSource(tmp_path / "r") as source:
        fresh = {sha: results(scan_files(source.tree(sha), ParseCache(source.read), config)) for sha in commits}
        assert fresh[commits[-5]] != fresh[commits[-6]]  # the glob's new match shows
        assert fresh[commits[-3]] != fresh[commits[-4]]  # so do the new assertions
        assert fresh[commits[-2]] == fresh[commits[-3]]  # a chart bump changes nothing
        assert fresh[commits[-1]] != fresh[commits[-2]]  # media has no test any more
        for tell_changes in (False, True):
            shared = ParseCache(source.read)
            files: dict = {}
            for step, sha in enumerate(order):
                tree = source.tree(sha)
                changed = {p for p in files if p not in tree} | {p for p, ref in tree.items() if files.get(p) != ref}
                for path in changed:  # ONE dict, edited in place, as a history walk keeps it
                    if path in tree:
                        files[path] = tree[path]
                    else:
                        del files[path]
                scanned = scan_files(files, shared, config, changed if tell_changes else None)
                assert results(scanned) == fresh[sha], (tell_changes, sha)
                if step % 5 == 0:  # another mapping in between (a branch's tree): changes are not trusted then
                    other = source.tree(commits[step % len(commits)])
                    assert results(scan_files(other, shared, config, set())) == fresh[commits[step % len(commits)]]


def test_marker_modules_come_and_go_with_their_marker(tmp_path: Path) -> None:
    config = ScanConfig(module_roots=(), marker="**/artifacthub-pkg.yml", exclude=("skip",))
    with RepoBuilder(tmp_path / "r") as builder:
        builder.write("p/a/artifacthub-pkg.yml", "x: 1\n").write("p/a/00-install.yaml", "kind: Pod\n")
        builder.write("skip/b/artifacthub-pkg.yml", "x: 1\n")
        one = builder.commit("one")
        builder.delete("p/a/artifacthub-pkg.yml").write("p/c/artifacthub-pkg.yml", "x: 1\n")
        two = builder.commit("two")
    with GitSource(tmp_path / "r") as source:
        shared = ParseCache(source.read)
        paths = [[m.path for m in scan_files(source.tree(c.sha), shared, config)[0]] for c in (one, two, one)]
    assert paths == [["p/a"], ["p/c"], ["p/a"]]



def test_a_second_scan_in_the_same_process_parses_only_the_blobs_that_changed(tmp_path: Path) -> None:
    from app.scanner.parse import SHARED

    SHARED.clear()
    with RepoBuilder(tmp_path / "r") as builder:
        repo = GitOps(builder)
        repo.add_module(NET)
        repo.add_chainsaw_suite("infra-networking", [NET], asserts=2)
        repo.commit("first")
        builder.flush()
        first = scan(tmp_path / "r")
        parsed_first = SHARED.misses
        assert parsed_first > 0 and SHARED.hits == 0
        assert scan(tmp_path / "r") == first  # nothing parsed again, the same answer
        assert SHARED.misses == parsed_first and SHARED.hits > 0

        builder.write("ci/test/infra-networking/validate-infra-networking-core.yaml", template(*[{"assert": {"file": "x"}}] * 7))
        repo.commit("more asserts")  # one test file edited: that blob alone is new
        builder.flush()
        second = scan(tmp_path / "r")
    assert SHARED.misses == parsed_first + 1
    assert second.modules[0].evidence.chainsaw[0].asserts == 8  # the edit shows: nothing stale was reused


def test_the_shared_parses_stay_within_their_budget() -> None:
    from app.scanner.parse import Parsed, SharedParses

    shared = SharedParses(budget=1000)
    for n in range(50):
        shared.put(f"{n:040x}", Parsed(docs=({"n": n},)), 100)
        shared.get(f"{0:040x}")  # the oldest, kept in use, is kept
    assert shared.size <= 1000
    assert f"{0:040x}" in shared and f"{49:040x}" in shared and f"{1:040x}" not in shared
    shared.put("big", Parsed(), 5000)  # over the whole budget: not kept, nothing dropped for it
    assert "big" not in shared and f"{49:040x}" in shared
