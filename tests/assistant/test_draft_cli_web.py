"""``sawmill draft`` and the module page's draft: the same patch, errors as one line or one shape."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import unquote

import pytest
from typer.testing import CliRunner

from app.assistant.draft import draft
from app.cli import cli
from app.config import Settings, get_settings
from app.repobuilder.gitops import dump
from app.services import scan_and_store
from app.web.main import create_app
from tests.assistant.drafting import NET_CORE, build, migrated_kubernetes, networking_suite
from tests.assistant.test_draft_kuttl import CLUSTER_POLICY, POLICY, one_policy

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SAWMILL = Path(sys.executable).parent / "sawmill"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return build(tmp_path / "platform", migrated_kubernetes, networking_suite)


@pytest.fixture
def run(db_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SAWMILL_DATABASE_URL", db_url)
    monkeypatch.delenv("SAWMILL_REPO", raising=False)
    get_settings.cache_clear()
    yield lambda *args: CliRunner().invoke(cli, ["draft", *map(str, args)])
    get_settings.cache_clear()


def test_the_command_prints_a_patch_git_applies_and_notes_on_stderr(run, repo: Path, tmp_path: Path) -> None:
    result = run(repo, "--module", "networking-core")
    assert result.exit_code == 0, result.output
    assert result.stdout == draft(repo, NET_CORE).patch()
    assert "following: bootstrap step 'Bootstrap FluxCD'" in result.stderr
    assert "note: ciliumnetworkpolicy/default" in result.stderr
    before = {p: p.read_bytes() for p in sorted((repo / ".git").rglob("*")) if p.is_file()}
    subprocess.run(["git", "clone", "-q", str(repo), str(tmp_path / "clone")], check=True)
    checked = subprocess.run(["git", "-C", str(tmp_path / "clone"), "apply", "--check", "-"], input=result.stdout, text=True, capture_output=True)
    assert checked.returncode == 0, checked.stderr
    assert {p: p.read_bytes() for p in sorted((repo / ".git").rglob("*")) if p.is_file()} == before  # nothing written


def test_json_holds_the_files_and_the_patch(run, repo: Path) -> None:
    import json

    result = run(repo, "-m", NET_CORE, "--json")
    data = json.loads(result.stdout)
    assert data["modules"] == [NET_CORE, NET_CORE.replace("core", "extra")]
    assert {f["change"] for f in data["files"]} == {"new", "changed"} and data["patch"].startswith("diff --git ")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["-m", "nowhere"], "error: no module nowhere at HEAD (sawmill scan lists them)"),
        (["-m", "kubernetes-core"], "error: infrastructure/subsystems/kubernetes-core is already migrated (ci/test/infra-kubernetes/chainsaw-test.yaml)"),
        (["-m", "networking-core", "--ref", "nope"], "error: unknown ref 'nope' in {repo}"),
    ],
)
def test_user_errors_are_one_line_and_exit_1(run, repo: Path, args: list[str], line: str) -> None:
    result = run(repo, *args)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [line.format(repo=repo)] and result.stdout == ""


def test_not_a_repository_is_one_line_from_the_installed_command(tmp_path: Path) -> None:
    done = subprocess.run([str(SAWMILL), "draft", str(tmp_path), "-m", "x"], capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "is not a git repository" in done.stderr


# -- the web -----------------------------------------------------------------
@pytest.fixture
def web(db_url: str, repo: Path) -> TestClient:
    scan_and_store(db_url, repo)
    app = create_app(Settings(database_url=db_url, repo=str(repo), worker=False))
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


def test_the_page_shows_the_drafted_files_and_the_download_is_the_same_patch(web: TestClient, repo: Path) -> None:
    module = web.get(f"/modules/{NET_CORE}")
    assert f'href="/modules/{NET_CORE}/draft"' in module.text and "Draft chainsaw test" in module.text
    page = web.get(f"/modules/{NET_CORE}/draft")
    assert page.status_code == 200
    for path in ("ci/test/infra-networking/chainsaw-test.yaml", "ci/test/infra-networking/check-infra-networking-core.yaml"):
        assert f"<code>{path}</code>" in page.text
    assert "deployment_namespace" in page.text  # the file's content, as it will be committed
    assert "bootstrap step &#39;Bootstrap FluxCD&#39;" in page.text and "ciliumnetworkpolicy/default" in page.text
    patch = web.get(f"/modules/{NET_CORE}/draft.patch")
    assert patch.status_code == 200 and patch.headers["content-type"].startswith("text/x-diff")
    assert 'filename="sawmill-draft-networking-core.patch"' in patch.headers["content-disposition"]
    assert patch.text == draft(repo, NET_CORE).patch()


def test_a_migrated_module_has_no_draft_link_and_its_draft_is_a_409(web: TestClient) -> None:
    path = "infrastructure/subsystems/kubernetes-core"
    assert "Draft chainsaw test" not in web.get(f"/modules/{path}").text
    page = web.get(f"/modules/{path}/draft")
    assert page.status_code == 409 and "already migrated" in page.text
    api = web.get(f"/modules/{path}/draft.patch", headers={"Accept": "application/json"})
    assert api.status_code == 409
    assert api.json() == {"error": {"status": 409, "message": f"{path} is already migrated (ci/test/infra-kubernetes/chainsaw-test.yaml)", "field": None}}
    assert web.get("/modules/infrastructure/subsystems/nowhere/draft").status_code == 404


def test_a_module_name_outside_latin_1_downloads_under_its_own_name(db_url: str, tmp_path: Path) -> None:
    module = "apps/subsystems/应用"

    def app_suite(repo) -> None:
        repo.add_module(module, ("web",))
        repo.add_legacy_suite("apps-yingyong", [module], conditions=1)

    repo = build(tmp_path / "platform", app_suite)
    scan_and_store(db_url, repo)
    web = TestClient(create_app(Settings(database_url=db_url, repo=str(repo), worker=False)), raise_server_exceptions=False)
    patch = web.get(f"/modules/{module}/draft.patch")
    assert patch.status_code == 200 and patch.text == draft(repo, module).patch()
    disposition = patch.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="sawmill-draft-__.patch"; ')  # for clients reading only that
    assert unquote(disposition.partition("filename*=UTF-8''")[2]) == "sawmill-draft-应用.patch"


def test_a_kuttl_command_with_an_unclosed_quote_is_one_line_naming_its_file_and_a_409(run, db_url: str, tmp_path: Path) -> None:
    step = {"apiVersion": "kuttl.dev/v1beta1", "kind": "TestStep", "commands": [{"command": 'echo "oops'}]}
    repo = one_policy(tmp_path / "policies", {"01-step.yaml": dump(step), "01-assert.yaml": dump(CLUSTER_POLICY)})
    line = f"error: {POLICY}/01-step.yaml (step 01): the command 'echo \"oops' cannot be split into words (No closing quotation)"

    result = run(repo, "-m", "require-labels")
    assert result.exit_code == 1 and result.stderr.splitlines() == [line] and result.stdout == ""

    scan_and_store(db_url, repo)
    web = TestClient(create_app(Settings(database_url=db_url, repo=str(repo), worker=False)), raise_server_exceptions=False)
    page = web.get(f"/modules/{POLICY}/draft")
    assert page.status_code == 409 and "01-step.yaml (step 01)" in page.text
    assert web.get(f"/modules/{POLICY}/draft.patch").status_code == 409


def test_the_page_shows_bidi_and_control_characters_as_escapes_the_patch_keeps_them(db_url: str, tmp_path: Path) -> None:
    step = {"apiVersion": "kuttl.dev/v1beta1", "kind": "TestStep", "commands": [{"script": "echo \u202etxt.exe\x1b[2J"}]}
    odd = {"apiVersion": "kuttl.dev/v1beta1", "kind": "Step\u2066Name"}  # not a kuttl step object: named in a note
    repo = one_policy(tmp_path / "policies", {"01-step.yaml": dump(step, odd), "01-assert.yaml": dump(CLUSTER_POLICY)})
    scan_and_store(db_url, repo)
    web = TestClient(create_app(Settings(database_url=db_url, repo=str(repo), worker=False)), raise_server_exceptions=False)

    page = web.get(f"/modules/{POLICY}/draft").text
    assert "\u202e" not in page and "\x1b" not in page and "\u2066" not in page
    assert "echo \\u202etxt.exe\\e[2J" in page and "Step\\u2066Name is not a kuttl step object" in page  # YAML escapes ESC itself
    assert "echo \u202etxt.exe\\e[2J" in web.get(f"/modules/{POLICY}/draft.patch").text  # what is applied is untouched
