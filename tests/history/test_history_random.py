"""Random histories: the statuses replayed from the walk equal a fresh scan at every commit.

Commits make one to three changes each, half of them to a file a test deploys: mostly
a new config map, now and then a Flux Kustomization. A blob whose bytes alone were
tested is thus replaced again and again with no scan between, and the walk must still
notice the edit that makes it matter.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from app.repobuilder import RepoBuilder
from app.scanner import scan
from app.scanner.history import replay, walk_history
from app.scanner.source import git_lines
from app.scanner.history_scan import HistoryScanner, load_config, relevant_paths

ROOTS = ["infrastructure/subsystems/a", "infrastructure/subsystems/b", "apps/subsystems/c", "components/k"]
MARKED = ["pol/a", "pol/b", "pol/a/sub", "x/c"]
SUITES = ["ci/test/s1", "ci/test/s2", "ci/test/k1", "ci/test/ex1"]
SUITE_FILES = ["chainsaw-test.yaml", "deploy.yaml", "assert.yaml", "x.yml", "kustomization.yaml", "flux.yaml",
               "00-install.yaml", "01-assert.yaml"]  # fmt: skip


def flux(target: str, escaped: bool) -> str:
    if escaped:  # "c" as \x63: the bytes never spell fluxcd
        return f'apiVersion: "kustomize.toolkit.flux\\x63d.io/v1"\nkind: Kustomization\nspec: {{path: ./{target}}}\n'
    return yaml.safe_dump({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                           "spec": {"path": f"./{target}"}})  # fmt: skip


def chainsaw(rng: random.Random) -> str:
    files = rng.sample(["deploy.yaml", "assert.yaml", "../shared/dep.yaml", "*.yml"], rng.randint(1, 3))
    steps = [{rng.choice(["apply", "apply", "assert", "create"]): {"file": f}} for f in files]
    return yaml.safe_dump({"apiVersion": "chainsaw.kyverno.io/v1alpha1", "kind": "Test", "metadata": {"name": "t"},
                           "spec": {"steps": [{"try": steps}]}})  # fmt: skip


def content(rng: random.Random, modules: list[str], path: str) -> str:
    roll = rng.random()
    if path.endswith("chainsaw-test.yaml"):
        return chainsaw(rng) if roll < 0.9 else "bad: [\n"
    if path.endswith("kuttl-test.yaml") or roll < 0.05:
        return yaml.safe_dump({"apiVersion": "kuttl.dev/v1beta1", "kind": "TestSuite",
                               "testDirs": [rng.choice(["ci/test", "ci/test/k1"])]})  # fmt: skip
    if roll < 0.3:
        return flux(rng.choice(modules), escaped=rng.random() < 0.3)
    if roll < 0.4:
        return "apiVersion: kuttl.dev/v1beta1\nkind: TestStep\n---\n" + flux(rng.choice(modules), escaped=False)
    if roll < 0.45:
        return "a: [\n"
    return f"kind: ConfigMap\ndata: {{v: '{rng.random()}'}}\n"  # a new blob that answers every byte test as before


def build(path: Path, seed: int, marker: bool) -> Path:
    rng = random.Random(seed)
    modules = MARKED if marker else ROOTS
    universe = [f"{m}/{name}" for m in modules for name in ("kustomization.yaml", "t/chainsaw-test.yaml", "t/deploy.yaml")]
    universe += [f"{m}/marker.yaml" for m in modules] if marker else []
    universe += [f"{s}/{name}" for s in SUITES for name in SUITE_FILES]
    universe += ["ci/test/shared/dep.yaml", "kuttl-test.yaml", "top.yaml"]
    hot = [f"{suite}/deploy.yaml" for suite in SUITES[:2]]
    deploy = yaml.safe_dump({"apiVersion": "chainsaw.kyverno.io/v1alpha1", "kind": "Test", "metadata": {"name": "t"},
                             "spec": {"steps": [{"try": [{"apply": {"file": "deploy.yaml"}}]}]}})  # fmt: skip
    with RepoBuilder(path, bare=True) as builder:
        builder.write("sawmill.yaml", "exclude: ['ci/test/ex*']\n" + ("modules: {marker: marker.yaml}\n" if marker else ""))
        for module in modules:  # every module there from the start, and two tests deploying a file each
            builder.write(f"{module}/marker.yaml" if marker else f"{module}/kustomization.yaml", "resources: []\n")
        for suite in SUITES[:2]:
            builder.write_many({f"{suite}/chainsaw-test.yaml": deploy, f"{suite}/deploy.yaml": "kind: ConfigMap\n"})
        builder.commit("the modules and two tests")
        present: set[str] = set()
        for n in range(30):
            for _ in range(rng.choice((1, 1, 1, 1, 2, 3))):
                roll = rng.random()
                if roll < 0.75 or not present:
                    if roll < 0.5:  # a deployed file: mostly a new config map, now and then a Flux Kustomization
                        chosen = rng.choice(hot)
                        link = rng.random() < 0.25
                        builder.write(chosen, flux(rng.choice(modules), rng.random() < 0.3) if link else
                                      f"kind: ConfigMap\ndata: {{v: '{rng.random()}'}}\n")  # fmt: skip
                    else:
                        chosen = rng.choice(universe)
                        builder.write(chosen, content(rng, modules, chosen))
                    present.add(chosen)
                else:
                    gone = rng.choice(sorted(present))
                    builder.delete(gone)
                    present.discard(gone)
            builder.commit(f"change {n}")
    return path


@pytest.mark.parametrize("marker", [False, True], ids=["roots", "marker"])
@pytest.mark.parametrize("seed", range(10))
def test_a_random_history_replays_to_fresh_scans(tmp_path: Path, seed: int, marker: bool) -> None:
    path = build(tmp_path / "r.git", seed, marker)
    config = load_config(path, "HEAD")
    with HistoryScanner(path, config) as scanner:
        walk = walk_history(path, "HEAD", relevant_paths(config), scanner)
    commits = list(reversed(git_lines(path, "rev-list", "--first-parent", "HEAD")))
    for i, sha in enumerate(commits):
        replayed = replay(t for t in walk.transitions if t.commit in commits[: i + 1])
        assert replayed == {m.path: str(m.status) for m in scan(path, ref=sha).modules}, f"commit {i + 1}"
    assert walk.scans < walk.commits  # some edits needed no scan: the case under test was met
