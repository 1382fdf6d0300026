"""A walk that tells scan_files what changed reuses analyses by the change alone: the answer
must still be a fresh scan's at every commit, in a layout where tests sit in the modules."""

from __future__ import annotations

from pathlib import Path

import yaml

from app.repobuilder import RepoBuilder
from app.scanner import GitSource, ParseCache, scan_files
from app.scanner.history_scan import load_config

POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
CHAINSAW = yaml.safe_dump({
    "apiVersion": "chainsaw.kyverno.io/v1alpha1", "kind": "Test", "metadata": {"name": "t"},
    "spec": {"steps": [{"try": [{"apply": {"file": "../policy.yaml"}}, {"assert": {"file": "ready.yaml"}}]}]},
})  # fmt: skip


def policy(b: RepoBuilder, folder: str, chainsaw: bool, n: int = 0) -> None:
    b.write(f"{folder}/artifacthub-pkg.yml", f"name: {folder}\n").write(f"{folder}/policy.yaml", POD + f"# {n}\n")
    if chainsaw:
        b.write(f"{folder}/.chainsaw-test/chainsaw-test.yaml", CHAINSAW).write(f"{folder}/.chainsaw-test/ready.yaml", POD)
    else:
        b.write(f"{folder}/00-install.yaml", POD).write(f"{folder}/01-assert.yaml", POD)


def results(scanned) -> list:
    modules, components, warnings = scanned
    return [[m.to_dict() for m in modules], [c.to_dict() for c in components], warnings]


def test_a_marker_walk_told_its_changes_matches_fresh_scans(tmp_path: Path) -> None:
    commits = []
    with RepoBuilder(tmp_path / "policies") as b:
        b.write("sawmill.yaml", "modules:\n  marker: '**/artifacthub-pkg.yml'\n")
        b.write("kuttl-test.yaml", "apiVersion: kuttl.dev/v1beta1\nkind: TestSuite\ntestDirs: [./]\n")
        for i in range(6):
            policy(b, f"group/p{i}", chainsaw=i % 2 == 0)
        commits.append(b.commit("policies"))
        b.write("group/p0/policy.yaml", "kind: [broken\n")  # read by p0's chainsaw test
        commits.append(b.commit("a policy breaks"))
        b.write("group/p1/policy.yaml", POD + "# 1\n")  # read by nothing: p1 is kuttl
        commits.append(b.commit("a kuttl policy edited"))
        b.delete("group/p1/00-install.yaml").delete("group/p1/01-assert.yaml")
        b.write("group/p1/.chainsaw-test/chainsaw-test.yaml", CHAINSAW).write("group/p1/.chainsaw-test/ready.yaml", POD)
        commits.append(b.commit("p1 on chainsaw"))
        b.write("group/p3/02-errors.yaml", POD)
        commits.append(b.commit("a kuttl step more"))
        policy(b, "group/new", chainsaw=False)
        commits.append(b.commit("a new policy"))
        b.delete("group/p5/artifacthub-pkg.yml")
        commits.append(b.commit("p5 is no policy any more: its steps are left without a module"))
        b.write("group/p0/policy.yaml", POD)
        b.write("group/p2/.chainsaw-test/ready.yaml", "kind: Deployment\n")
        commits.append(b.commit("two edits at once"))
        b.write("kuttl-test.yaml", "apiVersion: kuttl.dev/v1beta1\nkind: TestSuite\ntestDirs: [group]\n")
        commits.append(b.commit("the suite narrowed"))
    path = tmp_path / "policies"
    config = load_config(path, commits[-1].sha)
    with GitSource(path) as source:
        shared = ParseCache(source.read)
        files: dict = {}
        for commit in commits:
            tree = source.tree(commit.sha)
            changed = {p for p in files if p not in tree} | {p for p, ref in tree.items() if files.get(p) != ref}
            for p in changed:  # ONE dict, edited in place, as a history walk keeps it
                if p in tree:
                    files[p] = tree[p]
                else:
                    del files[p]
            walked = scan_files(files, shared, config, changed)
            fresh = scan_files(dict(tree), ParseCache(source.read), config)
            assert results(walked) == results(fresh), commit.message
