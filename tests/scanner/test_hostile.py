"""Hostile input: alias bombs, glob blow-ups, bad globs and huge blobs never hang or swamp a scan.

Each case used to hang, crash or eat memory; each is bounded in time (``within``, a
SIGALRM guard, so a regression fails instead of hanging) and, where memory was the
problem, in memory.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import dump, kustomize
from app.scanner import BlobRef, GitSource, ParseCache, scan
from app.scanner.config import parse_config
from app.scanner.model import ScanError
from app.scanner.yamlload import AliasBomb, load, load_all
from tests.scanner.conftest import MiB, MakeRepo, add_big_blob, alias_bomb, by_name, chainsaw, flux, module, reasons, within

SUITE = "ci/test/infra-networking"
NET = "infrastructure/subsystems/networking-core"
KUTTL = "kuttl.dev/v1beta1"
APP = Path(__file__).resolve().parents[2]


# -- alias bombs ---------------------------------------------------------------

BOMB = alias_bomb()  # ten levels of nine: 9**10 nodes once expanded, 100 in the document
WORKFLOW = ".github/workflows/test-networking.yaml"


def _workflow(conditions: str, head: str = BOMB) -> str:
    return f"{head}jobs:\n  t:\n    uses: ./.github/workflows/run.yaml\n    with:\n      test_path: {SUITE}\n      success_conditions: {conditions}\n"


PLACES = {
    # the two hangs: a workflow walks every mapping, a TestSuite's testDirs are turned into text
    "workflow": (WORKFLOW, _workflow("*j")),
    # the workflow itself is harmless: the bomb is the YAML inside its string input, read a second time
    "workflow string input": (WORKFLOW, _workflow(json.dumps(BOMB + "conditions: *j\n"), head="")),
    "kuttl TestSuite": ("kuttl-test.yaml", f"{BOMB}apiVersion: {KUTTL}\nkind: TestSuite\ntestDirs: *j\n"),
    # and the places that were safe only because nothing walked the bomb
    "chainsaw test": (f"{SUITE}/chainsaw-test.yaml", f"{BOMB}apiVersion: chainsaw.kyverno.io/v1alpha1\nkind: Test\nspec: {{steps: *j}}\n"),
    "kustomization": (f"{SUITE}/kustomization.yaml", f"{BOMB}resources: *j\n"),
    "kuttl step": ("ci/test/kuttl/00-install.yaml", f"{BOMB}apiVersion: {KUTTL}\nkind: TestStep\ncommands: *j\n"),
}


@pytest.mark.parametrize("place", PLACES)
def test_an_alias_bomb_is_refused_with_a_warning_naming_the_file(make_repo: MakeRepo, place: str) -> None:
    path, content = PLACES[place]
    files = {**module("networking-core"), path: content}
    if place == "kuttl step":  # a TestSuite naming the step's folder, so the scan reads it
        files["kuttl-suite.yaml"] = dump({"apiVersion": KUTTL, "kind": "TestSuite", "testDirs": ["ci/test"]})
    repo = make_repo(files)
    with within(2):
        result = scan(repo)
    found = reasons(result)
    assert any("YAML aliases expand" in reason for reason in found.get(path, [])), found
    assert "networking-core" in by_name(result)  # the rest is scanned


def test_an_alias_bomb_in_sawmill_yaml_is_a_scan_error_naming_the_file(make_repo: MakeRepo) -> None:
    repo = make_repo({**module("networking-core"), "sawmill.yaml": f"{BOMB}modules: {{roots: *j}}\n"})
    with within(2), pytest.raises(ScanError, match=r"^sawmill\.yaml: YAML aliases expand"):
        scan(repo)


def test_an_alias_that_holds_itself_is_refused(make_repo: MakeRepo) -> None:
    """``&a [*a]`` is a list inside itself: a walk over it never ends."""
    repo = make_repo({WORKFLOW: f"loop: &a [*a]\njobs: {{t: {{with: {{test_path: {SUITE}}}}}}}\n"})
    with within(2):
        found = reasons(scan(repo))
    assert found[WORKFLOW] == ["a YAML alias holds itself, not read"]


def test_the_guard_measures_the_expansion_not_the_text() -> None:
    with within(2):
        with pytest.raises(AliasBomb, match=r"^YAML aliases expand to over [0-9,]+ nodes$"):
            load_all(BOMB)
        with pytest.raises(AliasBomb):
            load(alias_bomb(levels=200, width=2))  # 2**200 nodes: counted once per node, not per path
        small = alias_bomb(levels=4, width=9)  # 8,307 nodes: under the budget alone
        assert len(load_all(small)) == 1
        with pytest.raises(AliasBomb):  # nine in one file add up
            load_all("---\n".join([small] * 9))
    # anchors used as people use them, and large documents without any, are read
    shared = "defaults: &d {cpu: 1, memory: 2, labels: {a: b}}\n" + "".join(f"s{i}: {{<<: *d, name: s{i}}}\n" for i in range(300))
    assert len(load(shared)) == 301
    big = "[" + ", ".join(["&x [1, 2]", *["*x"] * 20_000]) + "]\n"  # 60,000 nodes from 20,000: under 100x
    assert len(load(big)) == 20_001
    assert load_all("a: 1\n---\nb: 2\n") == [{"a": 1}, {"b": 2}]


def test_no_reader_bypasses_the_guard() -> None:
    """Every YAML read of the scanner goes through app.scanner.yamlload."""
    readers = r"(load|load_all|safe_load|safe_load_all|full_load|unsafe_load|compose|compose_all|parse)"
    calls = re.compile(rf"\byaml\.{readers}\b|from yaml import .*\b{readers}\b|Loader\(")
    offenders = [
        f"{path.relative_to(APP)}:{number}"
        for path in sorted((APP / "app" / "scanner").glob("*.py"))
        if path.name != "yamlload.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if calls.search(line)
    ]
    assert offenders == []


# -- globs -----------------------------------------------------------------------

DEEP = "/".join(["d"] * 60)  # a deep folder: 5 repeated "**/" took 28 s for one match, 12 never ended


def test_a_path_thousands_of_folders_deep_is_scanned_under_an_exclude_rule(make_repo: MakeRepo) -> None:
    """Whether a folder is excluded is kept per folder: found without recursion, whatever the depth."""
    deep = "/".join(["d"] * 3000)
    repo = make_repo({**module("networking-core"), f"{deep}/x.yaml": "a: 1\n", f"{deep}/docs/y.yaml": "a: 1\n",
                      "sawmill.yaml": dump({"exclude": ["**/docs"]})}, bare=True)  # fmt: skip
    assert {m.path for m in scan(repo).modules} == {NET}


def test_repeated_double_stars_match_in_linear_time(make_repo: MakeRepo) -> None:
    stars = "**/" * 12
    repo = make_repo(
        {
            **module("networking-core"),
            f"{DEEP}/policy/artifacthub-pkg.yml": "name: p\n",
            f"{DEEP}/policy/x.yaml": "a: 1\n",
            f"{DEEP}/vendor/y.yaml": "a: 1\n",
            "sawmill.yaml": dump(
                {
                    "modules": {"marker": f"{stars}artifacthub-pkg.yml", "roots": [f"{stars}subsystems/*"]},
                    "exclude": [f"{stars}vendor", f"{stars}nothing/{stars}here"],
                }
            ),
        }
    )
    with within(2):
        modules = by_name(scan(repo))
    assert {m.path for m in modules.values()} == {f"{DEEP}/policy", NET}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("modules: {roots: ['[z-a]/*']}", "sawmill.yaml: modules.roots[0]: bad glob '[z-a]/*': bad character range z-a"),
        ("modules: {marker: 'x[]y'}", "sawmill.yaml: modules.marker: bad glob 'x[]y'"),
        ("exclude: [ok, 'a/[9-0]']", "sawmill.yaml: exclude[1]: bad glob 'a/[9-0]'"),
        ("components: ['c/[b-a]*']", "sawmill.yaml: components[0]: bad glob"),
    ],
)
def test_a_bad_glob_names_the_file_the_key_and_the_glob(text: str, message: str) -> None:
    with pytest.raises(ScanError) as raised:
        parse_config(text, "sawmill.yaml")
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value) and "position" not in str(raised.value)


def test_a_bad_glob_in_the_repository_stops_the_scan_with_one_line(make_repo: MakeRepo, tmp_path: Path) -> None:
    """What the worker shows as the job's reason (str(ScanError)) and the CLI as its error line."""
    from app.cli import cli
    from app.store.db import migrate

    repo = make_repo({**module("networking-core"), "sawmill.yaml": "modules:\n  roots: ['[z-a]/*']\n"})
    with pytest.raises(ScanError, match=re.escape("sawmill.yaml: modules.roots[0]: bad glob '[z-a]/*'")):
        scan(repo)
    url = f"sqlite:///{tmp_path / 'glob.db'}"
    migrate(url)
    result = CliRunner().invoke(cli, ["scan", str(repo)], env={"SAWMILL_DATABASE_URL": url})
    assert result.exit_code == 1
    assert result.stderr.startswith("error: sawmill.yaml: modules.roots[0]: bad glob '[z-a]/*': bad character range")
    assert result.stderr.count("\n") == 1


def test_a_bad_glob_in_a_test_file_is_a_warning(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            **module("networking-core"),
            f"{SUITE}/net.yaml": flux("net", NET),
            f"{SUITE}/chainsaw-test.yaml": chainsaw({"try": [{"apply": {"file": "net.yaml"}}, {"assert": {"file": "[z-a]*.yaml"}}]}),
        }
    )
    result = scan(repo)
    assert reasons(result)[f"{SUITE}/chainsaw-test.yaml"] == ["bad glob '[z-a]*.yaml': bad character range z-a"]
    assert str(by_name(result)["networking-core"].status) == "migrated"


# -- huge blobs --------------------------------------------------------------------

WALK = textwrap.dedent(
    """
    import json, sys, time
    from app.scanner.history import walk_history
    from app.scanner.history_scan import HistoryScanner, load_config, relevant_paths
    from app.scanner.source import BlobRef

    def peak():  # this process's own high-water mark: ru_maxrss also holds the parent's, from before exec
        status = open("/proc/self/status").read()
        return int(status.split("VmHWM:")[1].split()[0]) * 1024

    repo, big = sys.argv[1], sys.argv[2]
    before, started = peak(), time.monotonic()
    config = load_config(repo, "main")
    with HistoryScanner(repo, config) as oracle:
        walk = walk_history(repo, "main", relevant_paths(config), oracle)
        skipped = oracle.cache.raw(BlobRef("100644", big))
    report = {"growth": peak() - before, "seconds": time.monotonic() - started, "commits": walk.commits, "skipped": skipped}
    print(json.dumps(report))
    """
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak memory from /proc")
def test_a_huge_blob_in_history_is_never_read(tmp_path: Path) -> None:
    """The 300 MB blob (a GiB in the issue) sits in two commits of history, not at the tip."""
    repo = tmp_path / "big"
    with RepoBuilder(repo) as builder:
        builder.write_many({**module("networking-core"), f"{SUITE}/net.yaml": flux("net", NET),
                            f"{SUITE}/kustomization.yaml": kustomize(["net.yaml"])}).commit("init")  # fmt: skip
    big = add_big_blob(repo, f"{SUITE}/huge.yaml", 300 * MiB)
    with within(60):
        done = subprocess.run([sys.executable, "-c", WALK, str(repo), big], cwd=APP, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["commits"] == 3
    assert report["skipped"] == "file over 1 MiB, not read"
    assert report["growth"] < 100 * MiB, report  # it was the blob's size and more
    assert report["seconds"] < 10, report


def test_the_walk_asks_git_for_sizes_and_reads_no_blob_over_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.scanner.history import walk_history
    from app.scanner.history_scan import HistoryScanner, load_config, relevant_paths

    repo = tmp_path / "big"
    with RepoBuilder(repo) as builder:
        builder.write_many({**module("networking-core"), f"{SUITE}/net.yaml": flux("net", NET)}).commit("init")
    big = add_big_blob(repo, f"{SUITE}/huge.yaml", 3 * MiB)
    read: list[str] = []
    sized: list[list[str]] = []
    real_read, real_many, real_sizes = GitSource.read, GitSource.read_many, GitSource.sizes
    monkeypatch.setattr(GitSource, "read", lambda self, sha, *a, **k: read.append(sha) or real_read(self, sha, *a, **k))
    monkeypatch.setattr(GitSource, "read_many", lambda self, shas, *a, **k: read.extend(shas) or real_many(self, shas, *a, **k))
    monkeypatch.setattr(GitSource, "sizes", lambda self, shas, *a, **k: sized.append(list(shas)) or real_sizes(self, shas, *a, **k))
    config = load_config(repo, "main")
    with HistoryScanner(repo, config) as oracle:
        walk_history(repo, "main", relevant_paths(config), oracle)
        assert oracle.cache.raw(BlobRef("100644", big)) == "file over 1 MiB, not read"
    assert big not in read
    assert any(big in batch for batch in sized)
    assert len(sized) <= 3  # one batch per window of commits, not one call per blob


def test_a_huge_blob_at_the_tip_is_a_warning(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo({**module("networking-core")})
    add_big_blob(repo, "ci/test/huge.yaml", 2 * MiB, keep=True)
    with within(5):
        found = reasons(scan(repo))
    assert found["ci/test/huge.yaml"] == ["file over 1 MiB, not read"]


def test_sizes_come_from_one_batch_check_and_read_many_skips_what_is_over_a_limit(make_repo: MakeRepo) -> None:
    repo = make_repo({"a.yaml": "a: 1\n", "b.yaml": b"x" * 5000, "c.yaml": b"# " + b"x" * MiB})
    with GitSource(repo) as source:
        files = source.tree(source.resolve().sha)
        a, b, c = (files[name].sha for name in ("a.yaml", "b.yaml", "c.yaml"))
        assert source.sizes([a, b, "0" * 40]) == {a: 5, b: 5000}
        assert source.read_many([a, b], limit=100) == {a: b"a: 1\n"}
        assert source.read_many([b, a]) == {a: b"a: 1\n", b: b"x" * 5000}  # the process is still in step
        assert source.read(b, limit=10) == b"x" * 10
        assert source.read(a, limit=10) == b"a: 1\n"
        # a ParseCache given git's sizes never reads a blob over the cap, even without a size on the ref
        read: list[str] = []
        blobs = ParseCache(lambda sha: read.append(sha) or source.read(sha), lambda shas: read.extend(shas) or source.read_many(shas), source.sizes)
        blobs.prefetch([BlobRef("100644", sha) for sha in (a, c)])
        assert blobs.raw(BlobRef("100644", c)) == "file over 1 MiB, not read"
        assert blobs.raw(BlobRef("100644", a)) == b"a: 1\n"
        assert read == [a]
        assert ParseCache(lambda sha: read.append(sha) or b"", sizes=source.sizes).parse(BlobRef("100644", c)).problem == "file over 1 MiB, not read"
        assert read == [a]
