"""Commit shas and pull request numbers on the pages link to the repository's web pages."""

from __future__ import annotations

import re
import subprocess
import warnings
from pathlib import Path

import pytest

from app.config import Settings
from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import INFRA, GitOps, seed_history
from app.services import scan_and_store
from app.web.main import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def platform(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "platform"
    with RepoBuilder(path) as builder:
        seed_history(GitOps(builder))
        builder.checkout()
    subprocess.run(["git", "-C", str(path), "remote", "add", "origin", "git@github.com:org/platform.git"], check=True)
    scan_and_store(db_url, path)
    return path


def page(db_url: str, path: str, **settings) -> str:
    client = TestClient(create_app(Settings(database_url=db_url, **settings)), raise_server_exceptions=False)
    response = client.get(path)
    assert response.status_code == 200
    return response.text


def head(repo: Path) -> str:
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()


def test_the_overview_and_a_module_page_link_commits_and_pull_requests(platform: Path, db_url: str) -> None:
    overview = page(db_url, "/", repo=str(platform))
    sha = head(platform)
    assert f'<a class="sha" href="https://github.com/org/platform/commit/{sha}"><code>{sha[:8]}</code></a>' in overview
    assert '<a class="pr" href="https://github.com/org/platform/pull/812">#812</a>' in overview  # a history event
    module = page(db_url, f"/modules/{INFRA}/kubernetes-core", repo=str(platform))
    assert '<a class="pr" href="https://github.com/org/platform/pull/812">#812</a>' in module
    commits = re.findall(r'href="https://github.com/org/platform/commit/([0-9a-f]{40})"', module)
    assert commits and all(
        subprocess.run(["git", "-C", str(platform), "cat-file", "-e", f"{c}^{{commit}}"]).returncode == 0 for c in commits
    )


def test_the_web_url_setting_names_the_forge_pages(platform: Path, db_url: str) -> None:
    overview = page(db_url, "/", repo=str(platform), web_url="https://git.example.com/team/platform/", forge="gitlab")
    assert f'href="https://git.example.com/team/platform/-/commit/{head(platform)}"' in overview
    assert 'href="https://git.example.com/team/platform/-/merge_requests/812"' in overview
    assert "github.com" not in overview


def test_without_a_remote_shas_are_plain_text(platform: Path, db_url: str) -> None:
    subprocess.run(["git", "-C", str(platform), "remote", "remove", "origin"], check=True)
    overview = page(db_url, "/", repo=str(platform))
    assert f"<code>{head(platform)[:8]}</code>" in overview
    assert 'class="sha"' not in overview and 'class="pr"' not in overview and "#812" in overview


def test_a_web_url_that_is_not_a_web_address_stops_start_up() -> None:
    with pytest.raises(ValueError, match="SAWMILL_WEB_URL must be an http"):
        Settings(web_url="javascript:alert(1)")
