"""Every page and every form without JavaScript: plain POSTs answered with 303."""

from __future__ import annotations

from app.repobuilder.gitops import INFRA
from app.services import scan_and_store

from .conftest import sign_in

PAGES = ["/", "/backlog", "/milestones", "/blockers", "/document", f"/modules/{INFRA}/kubernetes-core"]


def test_pages_and_forms_work_without_javascript(gitops_repo, with_document, serve, page_for, shot) -> None:
    path, _ = gitops_repo
    scan_and_store(with_document, path)
    live = serve(repo=path)
    page = page_for(javascript=False)

    for url in PAGES:
        response = page.goto(live.url + url)
        assert response.status == 200, url
        assert page.locator("main h1").first.is_visible(), url
        assert page.locator("[data-htmx-powered]").count() == 0, "htmx ran: JavaScript is on"
    shot(page, "module-no-js")

    sign_in(page, live)  # the sign-in form is a plain form too
    requests = []
    page.on("response", lambda r: requests.append((r.request.method, r.status)))

    page.goto(live.url + "/blockers")
    blocker = page.locator("[data-blocker='Testing Framework']")
    blocker.get_by_role("button", name="Resolve").click()  # empty note
    page.wait_for_load_state()
    assert ("POST", 422) in requests
    assert "note is required" in page.locator("[data-blocker='Testing Framework'] .field-error").inner_text()

    page.locator("[data-blocker='Testing Framework'] textarea[name=note]").fill("done without JavaScript")
    page.locator("[data-blocker='Testing Framework']").get_by_role("button", name="Resolve").click()
    page.wait_for_url(f"{live.url}/blockers#blocker-*")
    assert ("POST", 303) in requests
    assert "done without JavaScript" in page.locator("[data-list=resolved] [data-blocker='Testing Framework']").inner_text()

    page.goto(live.url + "/backlog")
    page.locator("[data-status=todo] [data-item='Validation enhancement'] [data-move=done]").click()
    page.wait_for_url(f"{live.url}/backlog#item-*")
    assert page.locator("[data-status=done] [data-item='Validation enhancement']").count() == 1

    page.goto(live.url + "/milestones")
    task = page.locator("[data-milestone='Testing Framework Migration'] [role=checkbox][aria-checked=false]").first
    text = task.locator("xpath=following-sibling::span").inner_text()
    task.click()
    page.wait_for_url(f"{live.url}/milestones")
    ticked = page.locator("[data-milestone='Testing Framework Migration'] form.task.done", has_text=text)
    assert ticked.count() == 1

    response = page.goto(live.url + "/no/such/page")
    assert response.status == 404 and "Page not found" in page.locator("main h1").inner_text()

    page.goto(live.url + "/")
    page.get_by_test_id("rescan").click()
    page.wait_for_load_state()
    assert page.url == f"{live.url}/"
    assert page.get_by_test_id("total").inner_text() == "18"
    shot(page, "overview-no-js")
