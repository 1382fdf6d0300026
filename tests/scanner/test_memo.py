"""scan_files over many snapshots with one ParseCache: analyses are reused only while their inputs hold."""

from __future__ import annotations

from pathlib import Path

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import INFRA, GitOps, build_seed_repo
from app.scanner import GitSource, ParseCache, ScanConfig, relevant, scan, scan_files
from tests.scanner.conftest import template

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
        analysis = blobs.memo[key][1]
        modules, _, _ = scan_files(source.tree(first.sha), blobs, ScanConfig())
        assert len(read) == reads_after_first  # same snapshot: nothing read again
        assert blobs.memo[key][1] is analysis  # and the analysis reused, not redone
        modules, _, _ = scan_files(source.tree(second.sha), blobs, ScanConfig())
        assert modules[0].evidence.chainsaw[0].asserts == 8  # the changed template was seen
        assert blobs.memo[key][1] is not analysis
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
