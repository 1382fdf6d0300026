"""The overview's burndown and events, and a module's timeline, in a real browser."""

from __future__ import annotations

import pytest

from app.repobuilder.gitops import APPS, INFRA
from app.services import scan_and_store
from tests.browser.conftest import browser, gitops_repo, page_for, serve, shot, sign_in  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def test_overview_shows_burndown_events_and_regressions(gitops_repo, db_url, serve, page_for, shot) -> None:  # noqa: F811
    path, repo = gitops_repo
    scan_and_store(db_url, path)
    live = serve(repo=str(path))
    page = page_for()
    sign_in(page, live)

    chart = page.get_by_test_id("burndown").locator("svg.burndown:visible")  # the size that fits the panel
    assert chart.get_attribute("role") == "img"
    assert chart.locator("title").first.text_content() == "Burndown: 16 of 18 modules not yet migrated"
    assert chart.bounding_box()["width"] > 200
    events = page.get_by_test_id("history-events")
    kubernetes = events.locator(f"li[data-module='{INFRA}/kubernetes-core']").filter(has_text="#812")
    assert "→ migrated" in kubernetes.inner_text().lower()  # badges are upper-cased by CSS
    regressions = page.get_by_test_id("regressions")
    assert "bitwarden" in regressions.inner_text() and "(#840)" in regressions.inner_text()
    assert page.get_by_test_id("forecast").inner_text() == "no progress in 90 days"

    repo.migrate_suite("infra-networking", pr=1010)
    repo.builder.checkout()
    page.get_by_test_id("rescan").click()
    newest = page.get_by_test_id("history-events").locator("li").first
    newest.filter(has_text="#1010").wait_for()
    assert "networking" in newest.inner_text()
    assert chart.locator("title").first.text_content() == "Burndown: 14 of 18 modules not yet migrated"
    shot(page, "overview-history")

    page.goto(f"{live.url}/modules/{APPS}/bitwarden")
    timeline = page.get_by_test_id("timeline")
    assert "created as legacy" in timeline.inner_text().lower() and "regression" in timeline.inner_text().lower()
