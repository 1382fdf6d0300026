"""Report fixtures: a GitOps repository built with the repository builder, scanned into a
migrated temp database, and the ``sawmill`` command run in process over both."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import APPS, INFRA, GitOps
from app.services import scan_and_store
from app.services.reports import Upload, ingest_report
from app.store.db import session_scope

NETWORKING = "ci/test/infra-networking"
STORAGE = "ci/test/infra-storage"
CORE, EXTRA = f"{INFRA}/networking-core", f"{INFRA}/networking-extra"
STORAGE_CORE = f"{INFRA}/storage-core"
MEDIA = f"{APPS}/media"


@dataclass
class Platform:
    path: Path
    first: str  # the commit scanned
    second: str  # a later commit, not scanned until a test scans it

    @property
    def key(self) -> str:
        return str(self.path.resolve())


def build_platform(path: Path) -> tuple[Path, str, str]:
    """Two chainsaw suites (networking-core/extra, storage-core) and a legacy one (media);
    a second commit after the first. Returns the path and both shas."""
    with RepoBuilder(path) as builder:
        repo = GitOps(builder)
        for module in (CORE, EXTRA, STORAGE_CORE, MEDIA):
            repo.add_module(module)
        repo.add_chainsaw_suite("infra-networking", [CORE, EXTRA])
        repo.add_chainsaw_suite("infra-storage", [STORAGE_CORE])
        repo.add_legacy_suite("apps-media", [MEDIA])
        first = repo.commit("feat: the platform")
        builder.write("README.md", "# platform\n")
        second = repo.commit("docs: a readme")
    return path, first.sha, second.sha


@pytest.fixture(scope="session")
def platform_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    return build_platform(tmp_path_factory.mktemp("reports") / "platform")


@pytest.fixture
def platform(platform_repo, db_url: str) -> Platform:
    """The repository with its first commit scanned into ``db_url``."""
    path, first, second = platform_repo
    scan_and_store(db_url, path, ref=first)
    return Platform(path, first, second)


@pytest.fixture
def ingest(db_url: str, platform: Platform):
    """Send a report as the API and the CLI do; returns ``Ingested``."""

    def send(data: bytes, commit: str | None = None, **upload):
        with session_scope(db_url, platform.key) as session:
            return ingest_report(session, data, Upload(commit=commit or platform.first, **upload), git_dir=platform.path)

    return send


@pytest.fixture
def client(db_url: str, platform: Platform):
    """A client of the real app tracking the platform repository."""
    import warnings

    from app.config import Settings
    from app.web.main import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    app = create_app(Settings(database_url=db_url, repo=str(platform.path), worker=False))
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


@pytest.fixture
def token(db_url: str) -> str:
    from app.store.tokens import create_token

    with session_scope(db_url) as session:
        return create_token(session, "ci-bot")
