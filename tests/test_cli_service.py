"""The command line as the service's users run it: a repository by URL, one store wherever
they stand, ``sawmill info``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import GitOps, seed_history
from tests.browser.conftest import gitops_repo  # noqa: F401  (fixture)
from tests.gitserver import git_server  # noqa: F401  (fixture)

SAWMILL = Path(sys.executable).with_name("sawmill")
DOCUMENT = Path(__file__).resolve().parents[1] / "app" / "demo" / "progress.md"


def sawmill(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SAWMILL), *args], capture_output=True, text=True, cwd=cwd, env={**os.environ, **env}, timeout=120
    )


@pytest.fixture
def served(git_server, tmp_path):  # noqa: F811
    server = git_server(root=tmp_path / "srv")
    with RepoBuilder(server.create("platform"), bare=True) as builder:
        seed_history(GitOps(builder))
    return server


def test_scan_by_url_keeps_a_mirror_in_the_data_folder_and_never_shows_the_token(served, own_data_dir) -> None:
    url = served.url("platform", private=True)
    done = sawmill("scan", url, "--json", SAWMILL_GIT_TOKEN=served.token)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["total"] == 18
    assert f"fetching {url}" in done.stderr and served.token not in done.stdout + done.stderr
    (mirror,) = (own_data_dir / "mirrors").glob("*.git")
    assert (mirror / "HEAD").is_file() and not (mirror / ".git").exists()  # bare: no work tree
    info = json.loads(sawmill("info", "--json", SAWMILL_REPO=url).stdout)
    assert info["repository"] == url and info["mirror"] == str(mirror)
    assert info["last_scan"]["commit"] == json.loads(done.stdout)["commit"]
    assert info["database"] == f"sqlite:///{own_data_dir / 'sawmill.db'}"


def test_a_token_in_a_file_and_a_refused_one(served, tmp_path) -> None:
    url = served.url("platform", private=True)
    secret = tmp_path / "token"
    secret.write_text(served.token + "\n")
    assert sawmill("scan", url, SAWMILL_GIT_TOKEN_FILE=str(secret)).returncode == 0
    refused = sawmill("scan", url, SAWMILL_GIT_TOKEN="not-the-token")
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f"fetching {url}",
        f"error: authentication failed for {url}: the credentials were refused",
    ]
    missing = sawmill("scan", url, SAWMILL_GIT_TOKEN_FILE=str(tmp_path / "nope"))
    assert missing.returncode == 1 and "SAWMILL_GIT_TOKEN_FILE" in missing.stderr and "Traceback" not in missing.stderr


def test_import_from_inside_the_repository_reaches_the_one_store_every_command_uses(gitops_repo, tmp_path) -> None:
    path, _ = gitops_repo
    assert sawmill("scan", str(path)).returncode == 0
    imported = sawmill("import", str(DOCUMENT), cwd=path)
    assert imported.returncode == 0, imported.stderr
    assert not (path / "sawmill.db").exists()  # nothing written into the team's repository
    elsewhere = sawmill("export", cwd=tmp_path)
    assert elsewhere.stdout.startswith("# Progress Tracking")
    info = sawmill("info", cwd=tmp_path).stdout
    assert f"repository:     {path}" in info and "queue:          empty" in info


def test_two_repositories_in_one_store_keep_their_own_documents(gitops_repo, tmp_path) -> None:
    path, _ = gitops_repo
    other = tmp_path / "other"
    with RepoBuilder(other) as builder:
        seed_history(GitOps(builder))
        builder.checkout()
    assert sawmill("scan", str(path)).returncode == 0
    assert sawmill("import", str(DOCUMENT), SAWMILL_REPO=str(path)).returncode == 0
    assert sawmill("scan", str(other)).returncode == 0
    assert sawmill("export", SAWMILL_REPO=str(other)).stdout == ""  # the other repository has no document
    assert sawmill("export", SAWMILL_REPO=str(path)).stdout.startswith("# Progress Tracking")


def test_a_database_url_nothing_can_read_never_shows_its_password(tmp_path: Path) -> None:
    for command in ("info", "scan"):
        done = sawmill(command, cwd=tmp_path, SAWMILL_DATABASE_URL="postgresql://u:s3cret@h:notaport/db")
        assert done.returncode == 1 and "postgresql://***@h:notaport/db" in done.stderr, done.stderr
        assert "s3cret" not in done.stdout + done.stderr, command
