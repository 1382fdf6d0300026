"""Parity and "Next up" in a real chromium, over a real uvicorn, with and without JavaScript."""

from __future__ import annotations

import pytest

from app.services import scan_and_store
from tests.browser.conftest import browser, page_for, serve, shot  # noqa: F401  (fixtures shared with tests/browser)

from .conftest import MEDIA, NET_CORE, STORAGE, showcase

pytestmark = pytest.mark.browser


@pytest.fixture
def live(gitops, db_url, serve):  # noqa: F811
    showcase(gitops)
    gitops.builder.flush()
    scan_and_store(db_url, gitops.builder.path)
    return serve(repo=gitops.builder.path, worker=False)


def test_the_parity_section_of_a_migrated_module(live, page_for, shot) -> None:  # noqa: F811
    page = page_for()
    page.goto(f"{live.url}/modules/{NET_CORE}")

    section = page.get_by_test_id("parity")
    assert section.is_visible()
    assert section.get_by_test_id("parity-summary").inner_text().startswith("1 legacy check not carried over")
    rows = section.get_by_test_id("parity-lost").locator("tbody tr")
    assert rows.count() == 1
    assert rows.first.inner_text().split("\t")[:2] == ["deployment/metallb", "metallb"]
    assert "deployment/old-api" in section.get_by_test_id("parity-since").inner_text()
    carried = section.get_by_test_id("parity-carried")
    assert not carried.locator("li").first.is_visible()  # folded until asked for
    carried.locator("summary").click()
    assert carried.locator("li").first.inner_text() == "deployment/traefik in traefik"
    shot(page, "parity")

    page.goto(f"{live.url}/modules/{STORAGE}")
    assert page.get_by_test_id("parity").count() == 0  # legacy: nothing to hold it to yet


def test_next_up_on_the_overview_leads_to_the_module(live, page_for, shot) -> None:  # noqa: F811
    page = page_for()
    page.goto(f"{live.url}/")

    panel = page.get_by_test_id("next-up")
    item = panel.locator(f"li[data-modules='{STORAGE}']")
    assert item.locator(".reason").inner_text() == "its dependencies are migrated: networking-core; 1 legacy check"
    assert "1 more wait for a dependency" in panel.inner_text()
    shot(page, "overview-next-up")
    item.locator("a").click()
    page.wait_for_url(f"{live.url}/modules/{STORAGE}")


def test_the_backlog_lists_what_waits_without_javascript(live, page_for) -> None:  # noqa: F811
    page = page_for(javascript=False)
    page.goto(f"{live.url}/backlog")

    waiting = page.get_by_test_id("next-waiting").locator(f"li[data-modules='{MEDIA}']")
    assert "waits for storage-core (legacy)" in waiting.inner_text()
    assert page.get_by_test_id("next-up").locator(f"li[data-modules='{STORAGE}']").count() == 1
