"""Removed modules (issue 15, points 2 and 3): retired, not "not done", in the export and on their own page.

The seed repository, then clusterops-extra removed (#901), then every legacy suite
migrated: the repository's tip, where the export used to untick "clusterops-core/extra modules".
"""

from __future__ import annotations

import re
import warnings
from html import unescape
from pathlib import Path

import pytest

from app.config import Settings
from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import INFRA, GitOps, seed_history
from app.repobuilder.git import Commit
from app.services import scan_and_store
from app.store import progress_read as read
from app.store.db import session_scope
from app.store.progress_doc import export_document, import_document
from app.web.main import create_app
from tests.progress.conftest import SEED

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

EXTRA = f"{INFRA}/clusterops-extra"


@pytest.fixture(scope="module")
def tip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Commit]:
    path = tmp_path_factory.mktemp("removed") / "platform"
    with RepoBuilder(path) as builder:
        gitops = GitOps(builder)
        seed_history(gitops)
        removal = gitops.remove_module(EXTRA, pr=901)
        for name in [n for n, suite in gitops.suites.items() if suite.kind == "legacy"]:
            gitops.migrate_suite(name, pr=1000)
    return path, removal


def scanned(db_url: str, repo: Path) -> TestClient:
    with session_scope(db_url) as session:
        import_document(session, SEED.read_bytes(), who="alice")
    scan_and_store(db_url, repo)
    return TestClient(create_app(Settings(database_url=db_url)), raise_server_exceptions=False)


def entry(db_url: str, text: str) -> dict:
    with session_scope(db_url) as session:
        return next(e for e in read.migration_entries(session)["entries"] if e["text"] == text)


def test_an_entry_naming_a_removed_module_stays_ticked_at_the_tip(tip, db_url: str) -> None:
    repo, removal = tip
    scanned(db_url, repo)
    clusterops = entry(db_url, "clusterops-core/extra modules")
    assert (clusterops["done"], clusterops["scan_status"], clusterops["unknown_modules"]) == (True, "migrated", [])
    assert [(n["name"], n["status"]) for n in clusterops["named"]] == [
        ("clusterops-core", "migrated"), ("clusterops-extra", "retired")]  # fmt: skip
    assert clusterops["named"][1]["removed"]["commit"] == removal.sha
    with session_scope(db_url) as session:
        exported = export_document(session)
    assert "  - [x] clusterops-core/extra modules\n" in exported
    assert "  - [ ]" not in exported.split("### Testing Framework", 1)[1].split("- [ ] Current GitHub", 1)[0]  # every entry


def test_a_module_named_in_a_plain_sub_point_is_not_added_again(tip, db_url: str) -> None:
    scanned(db_url, tip[0])
    with session_scope(db_url) as session:
        exported = export_document(session)
        missing = read.migration_entries(session)["missing"]
    # "Successfully migrated kubernetes-core/extra modules tests" names the pair: no second line
    assert exported.count("kubernetes-core/extra modules") == 1
    assert [m["text"] for m in missing] == ["bitwarden app module"]


def test_a_removed_modules_page_says_when_and_where_it_went(tip, db_url: str) -> None:
    repo, removal = tip
    client = scanned(db_url, repo)
    answer = client.get(f"/modules/{EXTRA}")
    assert answer.status_code == 200
    removed = " ".join(unescape(re.sub(r"<[^>]+>", " ", answer.text.split('data-testid="removal"', 1)[1].split("</article>", 1)[0])).split())
    assert f"Removed from {EXTRA} on {removal.date:%Y-%m-%d} in {removal.sha[:8]} (#901)" in removed
    assert "chore: remove clusterops-extra (#901)" in removed and "It was legacy when it went" in removed
    timeline = answer.text.split('data-testid="timeline"', 1)[1]
    assert re.findall(r'data-kind="(\w+)"', timeline) == ["removed", "born"]
    document = answer.text.split('data-testid="document-entry"', 1)[1].split("</article>", 1)[0]
    assert "clusterops-core/extra modules" in document and "☑" in document
    assert client.get(f"/modules/{INFRA}/never-was").status_code == 404


def test_history_links_to_a_removed_module_lead_to_its_page(tip, db_url: str) -> None:
    client = scanned(db_url, tip[0])
    pages = client.get("/").text + client.get("/history?kind=removed").text
    links = set(re.findall(r'href="(/modules/[^"]+)"', pages))
    assert f"/modules/{EXTRA}" in links
    for link in links:
        assert client.get(link).status_code == 200, link
