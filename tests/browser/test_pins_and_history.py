"""Pinning from the document page and the full history page, in a real browser with JavaScript off
and on (issue 15, points 2 and 4)."""

from __future__ import annotations

import pytest

from app.repobuilder.gitops import INFRA
from app.services import scan_and_store

from .conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [False, True])
def test_pin_and_unpin_an_entry_from_the_document_page(gitops_repo, with_document, serve, page_for, shot, javascript) -> None:
    path, _ = gitops_repo
    scan_and_store(with_document, path)
    live = serve(repo=str(path))
    page = page_for(width=390, height=844, javascript=javascript)
    sign_in(page, live)
    page.goto(live.url + "/document")
    harbor = page.locator("li.entry[data-entry='harbor app module']")
    assert "Not ticked: harbor is legacy." in harbor.inner_text()
    harbor.locator("summary", has_text="Pin").click()
    harbor.get_by_label("Reason").fill("being retired")
    harbor.get_by_role("button", name="Pin").click()
    harbor = page.locator("li.entry[data-entry='harbor app module']")
    harbor.locator(".badge.pinned").wait_for()
    assert "Ticked by a pin (alice): being retired" in harbor.inner_text() and "☑" in harbor.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, f"pinned-{'js' if javascript else 'no-js'}")
    harbor.get_by_role("button", name="Unpin").click()
    page.locator("li.entry[data-entry='harbor app module'] summary", has_text="Pin").wait_for()
    assert "Not ticked: harbor is legacy." in page.locator("li.entry[data-entry='harbor app module']").inner_text()


def test_the_history_page_filters_and_pages_without_javascript(gitops_repo, db_url, serve, page_for, shot) -> None:
    path, _ = gitops_repo
    scan_and_store(db_url, path)
    live = serve(repo=str(path))
    page = page_for(javascript=False)
    page.goto(live.url + "/")
    page.get_by_test_id("history-events").get_by_role("link", name="History").click()
    page.wait_for_url(f"{live.url}/history")
    everything = page.locator("[data-testid=history-list] li").count()
    assert everything > 15  # more than the overview shows
    page.get_by_label("Module").select_option(f"{INFRA}/kubernetes-core")
    page.get_by_label("Kind of move").select_option("changed")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/history?module=*kind=changed")
    rows = page.locator("[data-testid=history-list] li")
    assert rows.count() == 1 and "#812" in rows.first.inner_text()
    shot(page, "history-filtered")
