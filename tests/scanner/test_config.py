"""sawmill.yaml: defaults, overrides, a marker rule, excludes, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.repobuilder.gitops import INFRA, dump
from app.scanner import scan
from app.scanner.config import ScanConfig, glob_match, marker_test, parse_config
from app.scanner.model import ScanError
from tests.scanner.conftest import MakeRepo, by_name, chainsaw, flux, module, statuses, within

KUTTL_SUITE = dump({"apiVersion": "kuttl.dev/v1beta1", "kind": "TestSuite", "testDirs": ["./"]})
POD = dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}})


def test_defaults_follow_the_layout() -> None:
    config = parse_config("")
    assert config == ScanConfig()
    assert config.module_roots == ("infrastructure/subsystems/*", "apps/subsystems/*")
    assert config.component_roots == ("components/*",)
    assert config.test_roots == ("ci/test",)
    assert (config.marker, config.exclude, config.progress_document) == (None, (), None)


def test_every_key() -> None:
    config = parse_config(
        "modules: {roots: [platform/*], marker: '**/Chart.yaml'}\n"
        "components: [mixins/*]\ntests: {roots: [tests/e2e/]}\nexclude: [platform/old]\n"
        "progress_document: docs/progress.md\nworkflows: .gitea/workflows\n"
    )
    assert config.module_roots == ("platform/*",) and config.marker == "**/Chart.yaml"
    assert config.component_roots == ("mixins/*",) and config.test_roots == ("tests/e2e",)
    assert config.exclude == ("platform/old",) and config.progress_document == "docs/progress.md"
    assert config.workflows == ".gitea/workflows"
    assert parse_config("modules: {marker: '**/x.yml'}").module_roots == ()  # a marker rule replaces the default roots


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("modules: [a]", "modules must be a mapping"),
        ("modules: {roots: 5}", "modules.roots must be a list of path globs"),
        ("modules: {rots: [a]}", "unknown key modules.rots"),
        ("tests: {roots: ['../up']}", "tests.roots entry '../up' must be relative"),
        ("progress_document: 3", "progress_document must be a non-empty string"),
        ("modle: {}", "unknown key 'modle'"),
        ("- a\n- b", "expected a mapping"),
        ("a: [", "invalid YAML"),
    ],
)
def test_a_bad_file_names_the_key(text: str, message: str) -> None:
    with pytest.raises(ScanError, match=message):
        parse_config(text, "sawmill.yaml")


def test_globs() -> None:
    assert glob_match("apps/subsystems/*", "apps/subsystems/media")
    assert not glob_match("apps/subsystems/*", "apps/subsystems/media/sub")
    assert glob_match("**/artifacthub-pkg.yml", "artifacthub-pkg.yml")
    assert glob_match("**/artifacthub-pkg.yml", "a/b/artifacthub-pkg.yml")
    assert glob_match("ci/**", "ci/test/x.yaml") and glob_match("m-[!x]?", "m-ab")


@pytest.mark.parametrize("marker", ["**/artifacthub-pkg.yml", "*/Chart.yaml", "charts/**/Chart.yaml",
                                    "**/Chart.y?ml", "**/[Cc]hart.yaml", "**/", "Chart.yaml", "*.yml",
                                    "**/[a/]Chart.yaml", "c[/]Chart.yaml"])  # fmt: skip
def test_the_marker_test_answers_as_the_glob(marker: str) -> None:
    """marker_test tests a literal last part by the path's end before the glob: same answers."""
    paths = ["artifacthub-pkg.yml", "a/artifacthub-pkg.yml", "a/b/artifacthub-pkg.yml", "a/xartifacthub-pkg.yml",
             "a/artifacthub-pkg.yml/b", "Chart.yaml", "c/Chart.yaml", "c/d/Chart.yaml", "charts/Chart.yaml",
             "charts/x/Chart.yaml", "c/chart.yaml", "c/Chart.yml", "c/Chart.yaml.bak", "c/", "", "x.yml", "c/aChart.yaml"]  # fmt: skip
    test = marker_test(marker)
    assert [test(p) for p in paths] == [
        bool(glob_match(marker, p)) if "/" in marker else bool(glob_match(marker, p.rpartition("/")[2])) for p in paths
    ]
    assert any(test(p) for p in paths)


def marker_repo(make_repo: MakeRepo) -> Path:
    """Policy folders that hold their own tests, as a kuttl-to-chainsaw project keeps them."""
    return make_repo(
        {
            "sawmill.yaml": "modules:\n  marker: '**/artifacthub-pkg.yml'\n",
            "kuttl-test.yaml": KUTTL_SUITE,
            # migrated: the chainsaw test sits in a hidden folder inside the policy folder
            "best-practices/require-labels/artifacthub-pkg.yml": "name: require-labels\n",
            "best-practices/require-labels/policy.yaml": POD,
            "best-practices/require-labels/.chainsaw-test/chainsaw-test.yaml": chainsaw(
                {"try": [{"apply": {"file": "../policy.yaml"}}, {"assert": {"file": "ready.yaml"}}]}
            ),
            "best-practices/require-labels/.chainsaw-test/ready.yaml": POD,
            # legacy: kuttl step files in the policy folder, found through the root TestSuite
            "best-practices/disallow-latest/artifacthub-pkg.yml": "name: disallow-latest\n",
            "best-practices/disallow-latest/00-install.yaml": POD,
            "best-practices/disallow-latest/01-assert.yaml": POD,
            # migrated: chainsaw-test.yaml beside the old step files (the converter keeps them)
            "other/pod-security/artifacthub-pkg.yml": "name: pod-security\n",
            "other/pod-security/00-install.yaml": POD,
            "other/pod-security/chainsaw-test.yaml": chainsaw({"try": [{"apply": {"file": "00-install.yaml"}}]}),
            # in progress: a kuttl test case folder and a chainsaw hidden folder, both inside
            "other/both/artifacthub-pkg.yml": "name: both\n",
            "other/both/kuttl/00-install.yaml": POD,
            "other/both/.chainsaw-test/chainsaw-test.yaml": chainsaw({"try": [{"assert": {"file": "../p.yaml"}}]}),
            "other/both/p.yaml": POD,
            "other/untested/artifacthub-pkg.yml": "name: untested\n",
        }
    )


def test_marker_rule_modules_hold_their_own_tests(make_repo: MakeRepo) -> None:
    result = scan(marker_repo(make_repo))
    assert {m.path: str(m.status) for m in result.modules} == {
        "best-practices/require-labels": "migrated",
        "best-practices/disallow-latest": "legacy",
        "other/pod-security": "migrated",
        "other/both": "in_progress",
        "other/untested": "untested",
    }
    modules = by_name(result)
    evidence = modules["require-labels"].evidence.chainsaw[0]
    assert (evidence.link, evidence.asserts) == ("best-practices/require-labels/.chainsaw-test", 1)
    kuttl = modules["disallow-latest"].evidence.legacy[0]
    assert (kuttl.kind, kuttl.suite, kuttl.link, kuttl.steps) == (
        "kuttl",
        "best-practices/disallow-latest",
        "kuttl-test.yaml",
        2,
    )
    assert modules["require-labels"].group == "best-practices"
    assert result.warnings == []


def test_a_marker_without_a_slash_matches_the_file_name_in_any_folder(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = marker_repo(make_repo)
    bare_name = tmp_path / "bare-name.yaml"
    bare_name.write_text("modules:\n  marker: artifacthub-pkg.yml\n")
    rooted = tmp_path / "rooted.yaml"
    rooted.write_text("modules:\n  marker: other/*/artifacthub-pkg.yml\n")
    assert statuses(repo, config_path=bare_name) == statuses(repo)
    assert len(statuses(repo)) == 5
    # a glob with a slash is matched against the whole path
    assert set(statuses(repo, config_path=rooted)) == {"pod-security", "both", "untested"}


def test_workflows_at_the_root_take_no_file_from_a_kuttl_suite_at_the_root(make_repo: MakeRepo) -> None:
    """``workflows: /`` reads as the root, where git keeps no path under "/": a TestSuite at
    the root is still one, and the modules its test folders cover are legacy."""
    repo = make_repo({"sawmill.yaml": "workflows: /\nmodules:\n  marker: artifacthub-pkg.yml\n",
                      "kuttl-test.yaml": KUTTL_SUITE, "pol/a/artifacthub-pkg.yml": "name: a\n",
                      "pol/a/00-install.yaml": POD, "pol/a/01-assert.yaml": POD})  # fmt: skip
    assert statuses(repo) == {"a": "legacy"}


def test_kuttl_objects_mark_a_test_folder_without_a_suite_file(make_repo: MakeRepo) -> None:
    step = dump({"apiVersion": "kuttl.dev/v1beta1", "kind": "TestStep", "commands": [{"command": "true"}]})
    repo = make_repo(
        {
            **module("storage-core"),
            **module("networking-core"),
            f"{INFRA}/storage-core/tests/00-step.yaml": step,
            f"{INFRA}/storage-core/tests/01-assert.yaml": POD,
            # a TestAssert alone marks a folder too
            **module("security-core"),
            f"{INFRA}/security-core/checks/00-assert.yaml": dump({"apiVersion": "kuttl.dev/v1beta1", "kind": "TestAssert", "timeout": 30}),
            # numbered files without kuttl objects and outside any testDirs are just manifests
            f"{INFRA}/networking-core/app/00-namespace.yaml": POD,
        }
    )
    assert statuses(repo) == {"storage-core": "legacy", "networking-core": "untested", "security-core": "legacy"}


def test_config_file_overrides_the_repositorys_own(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = marker_repo(make_repo)
    override = tmp_path / "other.yaml"
    override.write_text("modules:\n  roots: [other/*]\n")
    assert set(statuses(repo, config_path=override)) == {"pod-security", "both", "untested"}
    with pytest.raises(ScanError, match="cannot read config"):
        scan(repo, config_path=tmp_path / "missing.yaml")


def test_a_config_that_is_not_a_file_is_read_as_far_as_its_limit(make_repo: MakeRepo, tmp_path: Path) -> None:
    """A FIFO nobody writes to waited for ever; /dev/zero (see tests/test_cli_scan.py) filled memory.
    A pipe with a writer (``--config <(...)``) is read."""
    import os

    from app.scanner.parse import MAX_BYTES

    repo = make_repo(module("a-core"))
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)
    with within(5):  # no writer: read as empty, the defaults
        assert [m.path for m in scan(repo, config_path=fifo).modules] == ["infrastructure/subsystems/a-core"]
    with within(5), pytest.raises(ScanError) as raised:
        scan(repo, config_path=tmp_path)
    assert str(raised.value) == f"cannot read config {tmp_path}: Is a directory"
    read, write = os.pipe()
    os.write(write, b"modules:\n  roots: [apps/subsystems/*]\n")
    os.close(write)
    with within(5):
        assert scan(repo, config_path=f"/dev/fd/{read}").modules == []  # what the pipe said: a-core is no module
    os.close(read)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * MAX_BYTES + b"\n")
    with pytest.raises(ScanError) as raised:
        scan(repo, config_path=big)
    assert str(raised.value) == f"{big}: file over 1 MiB, not read"


def test_a_bad_sawmill_yaml_in_the_repository_is_a_scan_error(make_repo: MakeRepo) -> None:
    repo = make_repo({"sawmill.yaml": "tests:\n  roots: nope: [\n"})
    with pytest.raises(ScanError, match="sawmill.yaml: invalid YAML"):
        scan(repo)


def test_invalid_yaml_in_the_config_says_the_line_and_column(make_repo: MakeRepo, tmp_path: Path) -> None:
    """It said only "invalid YAML: while parsing a flow sequence", where test files get a line."""
    text = "# where modules live\nmodules:\n  roots: [infrastructure/*, apps/*\ntests: {roots: [ci/test]}\n"
    repo = make_repo({"sawmill.yaml": text})
    with pytest.raises(ScanError) as raised:
        scan(repo)
    assert str(raised.value) == (
        "sawmill.yaml: invalid YAML at line 4, column 6: did not find expected ',' or ']'"
        " (while parsing a flow sequence at line 3, column 10)"
    )
    override = tmp_path / "other.yaml"
    override.write_text("modules:\n\troots: [x]\n")
    with pytest.raises(ScanError) as raised:
        scan(repo, config_path=override)
    assert str(raised.value) == f"{override}: invalid YAML at line 2, column 1: found character that cannot start any token"


def test_excludes_and_custom_roots(make_repo: MakeRepo) -> None:
    repo = make_repo(
        {
            "sawmill.yaml": "modules: {roots: ['platform/*']}\ntests: {roots: [e2e]}\nexclude: ['platform/old', 'e2e/skip']\n",
            "platform/web/k.yaml": POD,
            "platform/old/k.yaml": POD,
            "e2e/web/web.yaml": flux("web", "platform/web"),
            "e2e/web/chainsaw-test.yaml": chainsaw({"try": [{"apply": {"file": "web.yaml"}}]}),
            "e2e/skip/chainsaw-test.yaml": "not: [valid\n",
        }
    )
    result = scan(repo)
    assert {m.path: str(m.status) for m in result.modules} == {"platform/web": "migrated"}
    assert result.modules[0].group == "platform"
    assert result.warnings == []
