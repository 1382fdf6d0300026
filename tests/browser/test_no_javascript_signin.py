"""Without JavaScript: signing in mid-action keeps what was typed; Delete asks first."""

from __future__ import annotations

from .conftest import sign_in


def test_signing_in_mid_action_keeps_the_note(with_document, serve, page_for, shot) -> None:
    live = serve()
    page = page_for(javascript=False)
    answers: list[tuple[str, str, int]] = []
    page.on("response", lambda r: answers.append((r.request.method, r.url.removeprefix(live.url), r.status)))

    page.goto(live.url + "/blockers")
    blocker = page.locator("[data-list=open] [data-blocker='Testing Framework']")
    blocker.locator("textarea[name=note]").fill("settled with the platform team")
    blocker.get_by_role("button", name="Resolve").click()
    page.wait_for_load_state()
    posts = [(url, status) for method, url, status in answers if method == "POST"]
    assert len(posts) == 1 and posts[0][0].endswith("/resolve") and posts[0][1] == 401
    # The sign-in form itself, not a link back to the POST address.
    assert page.locator("main h1").inner_text() == "Sign in"
    assert "what you sent is kept" in page.get_by_test_id("signin-notice").inner_text()
    assert page.locator("input[name=next]").get_attribute("value") == "/blockers"
    assert page.locator("input[name='pending.note']").get_attribute("value") == "settled with the platform team"
    shot(page, "signin-mid-action")

    page.fill("input[name=token]", "not a token")  # a wrong token: the note is still carried
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "not accepted" in page.locator("#token-error").inner_text()
    page.fill("input[name=token]", live.token("alice"))
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert ("POST", "/signin", 200) in answers and not any(status == 405 for *_, status in answers)
    blocker = page.locator("[data-list=open] [data-blocker='Testing Framework']")
    assert blocker.locator("textarea[name=note]").input_value() == "settled with the platform team"
    assert "Signed in as alice" in blocker.locator(".form-error").inner_text()
    assert "alice" in page.locator("header.site").inner_text()  # signed in, as the header says
    shot(page, "signin-form-again")

    blocker.get_by_role("button", name="Resolve").click()
    page.wait_for_url(f"{live.url}/blockers#blocker-*")
    resolved = page.locator("[data-list=resolved] [data-blocker='Testing Framework']")
    assert "settled with the platform team" in resolved.inner_text() and "alice" in resolved.inner_text()


def test_a_post_without_its_form_returns_to_the_page_it_came_from(with_document, serve, page_for) -> None:
    live = serve()
    page = page_for(javascript=False)
    page.goto(live.url + "/backlog")
    page.locator("[data-item='Validation enhancement'] [data-move=done]").click()  # signed out
    page.wait_for_load_state()
    assert page.locator("input[name=next]").get_attribute("value") == "/backlog"
    page.fill("input[name=token]", live.token("bob"))
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("[data-status=todo] [data-item='Validation enhancement'] .form-error").count() == 1
    page.locator("[data-status=todo] [data-item='Validation enhancement'] [data-move=done]").click()
    page.wait_for_url(f"{live.url}/backlog#item-*")
    assert page.locator("[data-status=done] [data-item='Validation enhancement']").count() == 1


def test_delete_asks_first_without_javascript(with_document, serve, page_for, shot) -> None:
    live = serve()
    page = page_for(javascript=False)
    sign_in(page, live)
    title = "Default alert configurations"
    page.goto(live.url + "/backlog")
    page.locator(f"[data-item='{title}']").get_by_role("button", name="Delete").click()
    page.wait_for_url(f"{live.url}/backlog/*/delete*")
    confirm = page.get_by_test_id("confirm-delete")
    assert title in confirm.inner_text()
    shot(page, "confirm-delete")

    confirm.get_by_role("button", name="Keep it").click()  # changed my mind: nothing happens
    page.wait_for_url(f"{live.url}/backlog#item-*")
    assert page.locator(f"[data-item='{title}']").count() == 1

    page.locator(f"[data-item='{title}']").get_by_role("button", name="Delete").click()
    page.wait_for_url(f"{live.url}/backlog/*/delete*")
    page.get_by_test_id("confirm-delete").get_by_role("button", name="Delete").click()
    page.wait_for_url(f"{live.url}/backlog")
    assert page.locator(f"[data-item='{title}']").count() == 0
