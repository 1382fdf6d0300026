"""A walk follows most commits test by test (app.scanner.links): re-analysing only the tests a
commit touched, re-linking only the modules they cover. Its answer must be a fresh scan's at
every commit, whether the commit was followed that way or scanned in full."""

from __future__ import annotations

from pathlib import Path

import yaml

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import flux_kustomization
from app.scanner import GitSource, ParseCache, scan_files
from app.scanner.config import ScanConfig
from app.scanner.source import git_lines
from app.scanner.history_scan import load_config
from bench.bench_history import build_history_repo

POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"


def chainsaw(*files: str, asserts: int = 1) -> str:
    steps = [{"apply": {"file": f}} for f in files] + [{"assert": {"file": "ready.yaml"}}] * asserts
    return yaml.safe_dump({
        "apiVersion": "chainsaw.kyverno.io/v1alpha1", "kind": "Test", "metadata": {"name": "t"},
        "spec": {"steps": [{"try": steps}]},
    })  # fmt: skip


def policy(b: RepoBuilder, folder: str, chainsaw_test: bool = True) -> None:
    b.write(f"{folder}/artifacthub-pkg.yml", f"name: {folder}\n").write(f"{folder}/policy.yaml", POD)
    if chainsaw_test:
        b.write(f"{folder}/.chainsaw-test/chainsaw-test.yaml", chainsaw("../policy.yaml"))
        b.write(f"{folder}/.chainsaw-test/ready.yaml", POD)
    else:
        b.write(f"{folder}/00-install.yaml", POD).write(f"{folder}/01-assert.yaml", POD)


def results(scanned) -> list:
    modules, components, warnings = scanned
    return [[m.to_dict() for m in modules], [c.to_dict() for c in components], warnings]


def walk(path: Path, commits: list[tuple[str, str]], config: ScanConfig) -> list[str]:
    """Scan every commit as a walk does (one dict edited in place, one ParseCache, the changed
    paths told) and as a fresh scan; they must agree. The messages of the commits the walk
    followed test by test come back."""
    followed = []
    with GitSource(path) as source:
        shared = ParseCache(source.read)
        files: dict = {}
        for sha, message in commits:
            tree = source.tree(sha)
            changed = {p for p in files if p not in tree} | {p for p, ref in tree.items() if files.get(p) != ref}
            for p in changed:
                if p in tree:
                    files[p] = tree[p]
                else:
                    del files[p]
            layout = shared.memo.get(("layout", config))
            links = layout.links if layout is not None else None
            walked = scan_files(files, shared, config, changed)
            if links is not None and shared.memo[("layout", config)].links is links:
                followed.append(message)
            fresh = scan_files(dict(tree), ParseCache(source.read), config)
            assert results(walked) == results(fresh), message
    return followed


def test_a_marker_walk_followed_test_by_test_matches_fresh_scans(tmp_path: Path) -> None:
    commits = []
    with RepoBuilder(tmp_path / "policies") as b:
        b.write("sawmill.yaml", "modules:\n  marker: '**/artifacthub-pkg.yml'\n")
        b.write("kuttl-test.yaml", "apiVersion: kuttl.dev/v1beta1\nkind: TestSuite\ntestDirs: [./]\n")
        for i in range(12):
            policy(b, f"group/p{i}", chainsaw_test=i % 3 != 0)
        b.write("group/p1/shared.yaml", POD)  # read by the tests of p1, p2 and p4
        for i in (1, 2, 4):
            b.write(f"group/p{i}/.chainsaw-test/chainsaw-test.yaml", chainsaw("../policy.yaml", "../../p1/shared.yaml"))
        b.write("lib/common.yaml", POD)  # outside every module, read by p5's test
        b.write("group/p5/.chainsaw-test/chainsaw-test.yaml", chainsaw("../../../lib/common.yaml"))
        # p7's test deploys a folder that is no module yet
        b.write("group/p7/.chainsaw-test/flux.yaml", flux_kustomization("later", "group/later"))
        b.write("group/p7/.chainsaw-test/chainsaw-test.yaml", chainsaw("flux.yaml"))
        b.write("group/later/README.md", "no YAML: nothing outside the modules moves with it\n")
        commits.append(b.commit("policies"))
        b.write("group/p2/.chainsaw-test/chainsaw-test.yaml", chainsaw("../policy.yaml", asserts=3))
        commits.append(b.commit("one test among many"))
        b.write("group/p2/policy.yaml", "kind: [broken\n")
        commits.append(b.commit("a policy one test reads breaks: a warning"))
        b.write("group/p2/policy.yaml", POD)
        commits.append(b.commit("and is mended"))
        b.write("group/p1/shared.yaml", "kind: [broken\n")
        commits.append(b.commit("a file three tests read breaks"))
        b.write("group/p1/shared.yaml", POD + "# mended\n")
        commits.append(b.commit("and is mended"))
        b.write("group/p0/policy.yaml", POD + "# 1\n")
        commits.append(b.commit("a policy no test reads"))
        b.write("group/p3/02-errors.yaml", POD)
        commits.append(b.commit("a kuttl step more"))
        b.delete("group/p4/.chainsaw-test/chainsaw-test.yaml")
        commits.append(b.commit("a chainsaw test deleted: p4 is untested"))
        b.rename("group/p8/.chainsaw-test", "group/p8/.chainsaw")
        commits.append(b.commit("a test folder renamed inside its policy"))
        b.delete("group/p6/00-install.yaml").delete("group/p6/01-assert.yaml")
        b.write("group/p6/.chainsaw-test/chainsaw-test.yaml", chainsaw("../policy.yaml"))
        b.write("group/p6/.chainsaw-test/ready.yaml", POD)
        commits.append(b.commit("p6 moved from kuttl to chainsaw"))
        b.write("group/later/artifacthub-pkg.yml", "name: later\n")
        commits.append(b.commit("the folder p7's test deploys becomes a policy"))
        b.rename("group/p10", "group/p10-renamed")
        commits.append(b.commit("a policy renamed"))
        policy(b, "group/net-core")
        commits.append(b.commit("a policy born"))
        policy(b, "group/net-extra", chainsaw_test=False)
        commits.append(b.commit("its pair born"))
        b.delete("group/net-extra")
        commits.append(b.commit("the pair split again"))
        b.delete("group/p11")
        commits.append(b.commit("a policy deleted"))
        b.write("lib/common.yaml", "kind: [broken\n")
        commits.append(b.commit("a shared file outside the modules breaks"))
        b.delete("group/p9/artifacthub-pkg.yml")
        commits.append(b.commit("p9 is no policy any more: its files are left outside the modules"))
        b.write("kuttl-test.yaml", "apiVersion: kuttl.dev/v1beta1\nkind: TestSuite\ntestDirs: [group]\n")
        commits.append(b.commit("a TestSuite narrowed"))
        b.write("group/p2/.chainsaw-test/chainsaw-test.yaml", chainsaw("../policy.yaml"))
        commits.append(b.commit("one test among many, after a full scan"))
    path = tmp_path / "policies"
    followed = walk(path, [(c.sha, c.message) for c in commits], load_config(path, commits[-1].sha))
    assert {
        "one test among many", "a file three tests read breaks", "a chainsaw test deleted: p4 is untested",
        "a test folder renamed inside its policy", "p6 moved from kuttl to chainsaw",
        "the folder p7's test deploys becomes a policy", "a policy renamed", "its pair born", "a policy deleted",
        "a shared file outside the modules breaks", "one test among many, after a full scan",
    } <= set(followed)  # fmt: skip
    assert "a TestSuite narrowed" not in followed  # every kuttl case may change: a full scan


def test_a_gitops_walk_followed_test_by_test_matches_fresh_scans(tmp_path: Path) -> None:
    builder, repo = build_history_repo(tmp_path / "h.git", commits=160, seed=5, suites=6)
    suite = repo.suites[next(iter(repo.suites))]
    builder.write(suite.workflow, "on: push\n")
    repo.commit("a workflow many suites share")
    builder.write(f"{suite.folder}/kustomization.yaml", "resources: []\n")
    repo.commit("a suite's kustomization emptied")
    builder.flush()
    builder.repo.close()
    lines = git_lines(builder.path, "log", "--first-parent", "--reverse", "--format=%H %s", "HEAD")
    followed = walk(builder.path, [tuple(line.split(" ", 1)) for line in lines], ScanConfig())
    assert any(message.startswith("test: tune") for message in followed)  # a suite's own manifest edited
