"""What the overview and a module page show, checked against the store and the repository."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import APPS, INFRA, GitOps, seed_history
from app.services import scan_and_store
from app.store import progress_read
from app.store.db import session_scope

BROKEN = "ci/test/infra-kubernetes/validate-infra-kubernetes-core.yaml"


@pytest.fixture
def scanned(tmp_path: Path, db_url: str, client) -> Path:
    """The seed repository with one unreadable validation file, scanned into the client's store."""
    path = tmp_path / "platform"
    with RepoBuilder(path) as builder:
        repo = GitOps(builder)
        seed_history(repo)
        builder.write(BROKEN, "key: [unclosed\n")
        repo.commit("test: a validation file nobody can read")
        builder.checkout()
    scan_and_store(db_url, path)
    return path


def text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def panel(html: str, testid: str) -> str:
    match = re.search(rf'<article class="panel" data-testid="{testid}">(.*?)</article>', html, re.S)
    assert match, testid
    return text(match.group(1))


def test_the_overview_lists_open_blockers_the_current_milestone_and_the_last_scan(client, scanned, db_url) -> None:
    page = client.get("/").text
    with session_scope(db_url) as session:
        blockers = progress_read.blockers(session)
        current = next(m for m in progress_read.milestones(session) if m["state"] == "current")
    open_panel = panel(page, "open-blockers")
    assert [b["title"] for b in blockers["open"]] == ["Testing Framework"]
    assert "Testing Framework" in open_panel
    assert all(b["title"] not in open_panel for b in blockers["resolved"])
    milestone = panel(page, "current-milestone")
    assert current["title"] in milestone and f"{current['done']} / {current['total']}" in milestone
    last_scan = text(re.search(r'data-testid="last-scan">(.*?)</details>', page, re.S).group(1))
    assert "1 warning" in last_scan and BROKEN in last_scan and "invalid YAML" in last_scan


def test_a_legacy_module_page_shows_its_suite_workflow_and_document_entry(client, scanned) -> None:
    page = text(client.get(f"/modules/{APPS}/harbor").text)
    assert 'class="badge st-legacy"' in client.get(f"/modules/{APPS}/harbor").text
    legacy = page.split("Legacy tests", 1)[1].split("In the progress document", 1)[0]
    assert "Kind kustomize Suite ci/test/apps-harbor " in legacy
    assert "Linked by ci/test/apps-harbor/apps-harbor.yaml" in legacy  # the Flux manifest
    assert "Workflow .github/workflows/test-apps-harbor.yaml · 3 success conditions" in legacy
    assert "In the progress document ☐ harbor app module" in page


def test_a_migrated_module_page_shows_the_test_the_flux_manifest_assertions_and_its_warnings(client, scanned) -> None:
    page = text(client.get(f"/modules/{INFRA}/kubernetes-core").text)
    assert "ci/test/infra-kubernetes/chainsaw-test.yaml" in page
    assert "Linked by ci/test/infra-kubernetes/infra-kubernetes-core.yaml" in page  # the Flux manifest
    assert re.search(r"Assertions \d+ \(\d+ assert, \d+ error, \d+ script\)", page)
    warnings = page.split("Warnings", 1)[1].split("Timeline", 1)[0]
    assert BROKEN in warnings and "invalid YAML" in warnings
    assert "pair: kubernetes-extra" in page
    other = text(client.get(f"/modules/{INFRA}/networking-core").text)
    assert BROKEN not in other and "None for this module's files." in other


def test_the_backlog_groups_each_column_by_category(client, bearer) -> None:
    client.post("/backlog", data={"category": "Testing Improvements", "title": "Run chainsaw on kind"}, headers=bearer)
    client.post("/backlog/1/move", data={"status": "doing"}, headers=bearer)
    page = client.get("/backlog").text
    lanes = {s: text(html) for s, html in re.findall(r'<section class="lane st-(\w+)".*?>(.*?)</section>', page, re.S)}
    assert list(lanes) == ["todo", "doing", "done"]
    todo = lanes["todo"]
    assert todo.index("Infrastructure Evolution") < todo.index("Default alert configurations") < todo.index("Testing Improvements")
    assert todo.index("Testing Improvements") < todo.index("Run chainsaw on kind")
    assert "Migration from flannel + metallb to cillium" in lanes["doing"] and "Infrastructure Evolution" in lanes["doing"]
    assert "nothing here" in lanes["done"]
