"""/history: every event, filtered by module and kind of move, a page at a time, linked from the overview
(issue 15, point 4). In process over a real repository and database."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from app.config import Settings
from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import INFRA, GitOps
from app.services import scan_and_store
from app.web.main import create_app
from tests.history.conftest import Days

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

MODULES = [f"{INFRA}/m{i:02d}-core" for i in range(30)]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 modules born legacy in one commit, each migrated on its own (#100..#129), then m00 removed (#200):
    61 events."""
    path = tmp_path_factory.mktemp("history-page") / "platform"
    days = Days()
    with RepoBuilder(path) as builder:
        gitops = GitOps(builder)
        for i, module in enumerate(MODULES):
            gitops.add_module(module)
            gitops.add_legacy_suite(f"infra-m{i:02d}", [module])
        gitops.commit("feat: thirty modules", date=days())
        for i in range(len(MODULES)):
            gitops.migrate_suite(f"infra-m{i:02d}", pr=100 + i, date=days())
        gitops.remove_module(MODULES[0], pr=200, date=days())
    return path


@pytest.fixture
def client(repo: Path, db_url: str) -> TestClient:
    scan_and_store(db_url, repo)
    return TestClient(create_app(Settings(database_url=db_url)), raise_server_exceptions=False)


def listed(page: str) -> list[tuple[str, str]]:
    """(module, kind) of each event the page lists, in order."""
    body = page.split('data-testid="history-list"', 1)[1].split("</ol>", 1)[0] if "history-list" in page else ""
    return re.findall(r'data-module="([^"]+)" data-kind="(\w+)"', body)


def test_every_event_a_page_at_a_time_newest_first(client: TestClient) -> None:
    first = client.get("/history").text
    assert "61 events" in first
    events = listed(first)
    assert len(events) == 50 and events[0] == (MODULES[0], "removed")
    assert events[1] == (MODULES[29], "changed")  # the last migration, just before the removal
    assert re.search(r'<ol class="events history-all" start="61"', first)
    assert "page 1 of 2" in first and 'href="/history?page=2"' in first

    second = client.get("/history?page=2").text
    rest = listed(second)
    assert len(rest) == 11 and rest[-1][1] == "born" and 'href="/history"' in second
    assert '<ol class="events history-all" start="11"' in second  # numbered on from page 1
    assert listed(client.get("/history?page=9").text) == rest  # past the last page: the last


def test_filters_by_module_and_kind_and_pages_keep_them(client: TestClient) -> None:
    removed = client.get("/history?kind=removed").text
    assert listed(removed) == [(MODULES[0], "removed")] and "1 of 61 events" in removed
    one = listed(client.get("/history", params={"module": MODULES[5]}).text)
    assert one == [(MODULES[5], "changed"), (MODULES[5], "born")]
    born = client.get("/history?kind=born").text
    assert {kind for _, kind in listed(born)} == {"born"} and "30 of 61 events" in born
    assert 'data-testid="pager"' not in born  # 30 fit on one page
    changed = client.get("/history?kind=changed").text  # 30: one page, the form keeps the choice
    assert '<option value="changed" selected>' in changed
    assert client.get("/history?kind=nonsense").status_code == 422
    nothing = client.get("/history", params={"module": "infrastructure/subsystems/none"}).text
    assert "No event matches these filters" in nothing


def test_a_filtered_pager_keeps_the_filter(tmp_path: Path, db_url: str) -> None:
    days = Days()
    with RepoBuilder(tmp_path / "repo") as builder:
        gitops = GitOps(builder)
        for i in range(55):
            gitops.add_module(f"{INFRA}/n{i:02d}-core")
            gitops.add_legacy_suite(f"infra-n{i:02d}", [f"{INFRA}/n{i:02d}-core"])
        gitops.commit("feat: fifty-five modules", date=days())
        gitops.migrate_suite("infra-n00", pr=1, date=days())
    scan_and_store(db_url, tmp_path / "repo")
    client = TestClient(create_app(Settings(database_url=db_url)))
    page = client.get("/history?kind=born").text
    assert len(listed(page)) == 50 and 'href="/history?kind=born&amp;page=2"' in page
    assert len(listed(client.get("/history?kind=born&page=2").text)) == 5


def test_the_overviews_history_panel_links_to_the_rest(client: TestClient) -> None:
    panel = client.get("/").text.split('data-testid="history-events"', 1)[1].split("</article>", 1)[0]
    assert '<a href="/history">History</a> <span class="n">61</span>' in panel
    assert len(re.findall(r'<li class="event', panel)) == 15
    more = panel.split('data-testid="history-more">', 1)[1].split("</p>", 1)[0]
    assert more == 'The newest 15 of 61: <a href="/history">every event</a>, by module or kind of move.'



def test_a_squash_merged_subject_names_its_pull_request_once(client: TestClient) -> None:
    """The PR is linked beside the commit; the subject's own `` (#200)`` suffix is not said again."""
    line = client.get("/history?kind=removed").text.split('data-kind="removed"', 1)[1].split("</li>", 1)[0]
    text = re.sub(r"<[^>]+>", "", line)  # what the reader sees (the commit's tooltip keeps the whole subject)
    assert text.count("#200") == 1 and "chore: remove m00-core" in text, text
