"""Under the Content-Security-Policy, in a real chromium: the API docs render with every request
to another origin blocked, and the dashboard's htmx forms, the Rescan swap and the burndown chart
work with not one CSP violation in the console."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from app.repobuilder.gitops import INFRA
from app.services import scan_and_store

from .conftest import column_of, sign_in


class Watch:
    """What a page asked of other origins (refused), and what the console said about the policy."""

    def __init__(self, page, origin: str) -> None:
        self.elsewhere: list[str] = []
        self.violations: list[str] = []
        page.route("**/*", self._route(origin))
        page.on("console", lambda message: self._console(message.text))
        page.on("pageerror", lambda error: self.violations.append(f"page error: {error}"))

    def _route(self, origin: str):
        def handle(route) -> None:
            url = route.request.url
            if url.startswith(("data:", "blob:")) or _origin(url) == origin:
                route.continue_()
            else:  # offline: nothing but the server itself
                self.elsewhere.append(url)
                route.abort()

        return handle

    def _console(self, text: str) -> None:
        if "Content Security Policy" in text or "Refused to" in text:
            self.violations.append(text)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# Redoc's "API docs by Redocly" footer asks for its logo from Redocly's CDN: the policy
# refuses it before any request leaves, which is the point.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.mark.parametrize(
    ("path", "ready"), [("/docs", ".swagger-ui .opblock"), ("/redoc", "text=Download OpenAPI specification")]
)
def test_the_api_docs_render_offline_under_their_policy(serve, page_for, path, ready) -> None:
    live = serve()
    page = page_for()
    watch = Watch(page, live.url)
    page.goto(live.url + path)
    page.locator(ready).first.wait_for()
    assert "/api/status" in page.content()  # the operations came from /openapi.json
    assert watch.elsewhere == []
    assert [v for v in watch.violations if REDOC_LOGO not in v] == []


def test_htmx_forms_work_under_the_policy(with_document, serve, page_for) -> None:
    live = serve()
    page = page_for()
    watch = Watch(page, live.url)
    sign_in(page, live, "alice")
    page.goto(live.url + "/backlog")
    page.evaluate("window.sawmillMarker = 'same page'")
    form = page.get_by_test_id("add-item")
    form.locator("[name=title]").fill("Under a strict policy")
    form.locator("button[type=submit]").click()
    item = page.locator("[data-item='Under a strict policy']")
    item.wait_for()
    assert page.evaluate("window.sawmillMarker") == "same page"  # htmx swapped it in place
    # Delete: htmx's confirm dialog, then a post whose CSRF token rides in hx-headers (JSON, no eval)
    page.once("dialog", lambda dialog: dialog.accept())
    item.get_by_role("button", name="Delete").click()
    item.wait_for(state="detached")
    assert page.evaluate("window.sawmillMarker") == "same page"
    assert watch.elsewhere == [] and watch.violations == []


def test_rescan_and_the_burndown_chart_work_under_the_policy(gitops_repo, db_url, serve, page_for) -> None:
    path, repo = gitops_repo
    scan_and_store(db_url, path)
    live = serve(repo=str(path))
    page = page_for()
    watch = Watch(page, live.url)
    sign_in(page, live)
    chart = page.get_by_test_id("burndown").locator("svg.burndown")
    # the chart's own <style> applies (allowed by its hash): the grid lines are faint, not solid
    assert chart.locator(".bd-grid").first.evaluate("el => getComputedStyle(el).strokeOpacity") == "0.15"
    repo.migrate_suite("infra-networking", pr=1010)
    repo.builder.checkout()
    page.evaluate("window.sawmillMarker = 'same page'")
    page.get_by_test_id("rescan").click()
    page.locator(f"section[data-status=migrated] article[data-modules~='{INFRA}/networking-core']").wait_for()
    assert page.evaluate("window.sawmillMarker") == "same page"
    assert column_of(page, f"{INFRA}/networking-extra") == "migrated"
    assert watch.elsewhere == [] and watch.violations == []
