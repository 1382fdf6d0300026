"""Blockers, backlog and milestones in a real browser, with htmx."""

from __future__ import annotations

import re

from app.store import progress_read
from app.store.db import session_scope
from app.store.progress_doc import export_document

from .conftest import sign_in

BLOCKER = "Testing Framework"


def open_blockers(db_url: str) -> list[str]:
    with session_scope(db_url) as session:
        return [b["title"] for b in progress_read.blockers(session)["open"]]


def resolved_section(markdown: str) -> str:
    return markdown.split("### Resolved Challenges", 1)[1].split("\n## ", 1)[0]


def test_resolving_a_blocker_moves_it_and_the_export_lists_it(with_document, serve, page_for, shot) -> None:
    live = serve()
    page = page_for()
    sign_in(page, live, "alice")
    page.goto(live.url + "/blockers")
    page.evaluate("window.sawmillMarker = 'same page'")
    blocker = page.locator(f"[data-list=open] [data-blocker='{BLOCKER}']")
    blocker.get_by_label("Resolution note").fill("Chainsaw runs locally against kind now")
    blocker.get_by_role("button", name="Resolve").click()

    resolved = page.locator(f"[data-list=resolved] [data-blocker='{BLOCKER}']")
    resolved.wait_for()
    assert page.evaluate("window.sawmillMarker") == "same page"  # swapped in place
    assert page.locator(f"[data-list=open] [data-blocker='{BLOCKER}']").count() == 0
    assert "Resolved by alice" in resolved.inner_text()
    assert "Chainsaw runs locally against kind now" in resolved.inner_text()
    with session_scope(with_document) as session:
        assert BLOCKER in resolved_section(export_document(session))
    download = page.request.get(live.url + "/document.md")  # the export a user downloads from /document
    assert download.ok and BLOCKER in resolved_section(download.text())
    assert BLOCKER not in download.text().split("### Current Blockers", 1)[1].split("###", 1)[0]
    shot(page, "blocker-resolved")


def test_a_second_resolve_shows_who_was_first(with_document, serve, page_for, shot) -> None:
    live = serve()
    alice, bob = page_for(), page_for()
    sign_in(alice, live, "alice")
    sign_in(bob, live, "bob")
    for page in (alice, bob):
        page.goto(live.url + "/blockers")
    first = alice.locator(f"[data-blocker='{BLOCKER}']")
    first.get_by_label("Resolution note").fill("fixed by alice")
    first.get_by_role("button", name="Resolve").click()
    alice.locator(f"[data-list=resolved] [data-blocker='{BLOCKER}']").wait_for()

    stale = bob.locator(f"[data-list=open] [data-blocker='{BLOCKER}']")
    stale.get_by_label("Resolution note").fill("fixed by bob")
    stale.get_by_role("button", name="Resolve").click()
    message = bob.locator(f"#blockers [data-blocker='{BLOCKER}'] .form-error")
    message.wait_for()
    assert re.search(r"already resolved by alice", message.inner_text())
    assert "fixed by alice" in bob.locator(f"[data-list=resolved] [data-blocker='{BLOCKER}']").inner_text()
    shot(bob, "blocker-conflict")


def test_a_form_error_shows_beside_its_field_and_nothing_is_stored(with_document, serve, page_for, shot) -> None:
    live = serve()
    page = page_for()
    sign_in(page, live)
    page.goto(live.url + "/blockers")
    blocker = page.locator(f"[data-blocker='{BLOCKER}']")
    blocker.get_by_role("button", name="Resolve").click()
    error = page.locator(f"[data-list=open] [data-blocker='{BLOCKER}'] .field-error")
    error.wait_for()
    assert "note is required" in error.inner_text()
    note = page.locator(f"[data-blocker='{BLOCKER}'] textarea[name=note]")
    assert note.get_attribute("aria-invalid") == "true"
    # the message sits right under the field it is about
    assert error.bounding_box()["y"] > note.bounding_box()["y"]
    assert open_blockers(with_document) == [BLOCKER]
    shot(page, "form-error")

    page.goto(live.url + "/backlog")
    add = page.get_by_test_id("add-item")
    add.get_by_label("New item").fill("   ")
    add.get_by_role("button", name="Add").click()
    page.locator("[data-testid=add-item] .field-error").wait_for()
    assert "title is required" in page.locator("[data-testid=add-item] .field-error").inner_text()
    with session_scope(with_document) as session:
        assert sum(len(items) for g in progress_read.backlog(session) for items in g["items"].values()) == 8


def test_moving_a_backlog_item(with_document, serve, page_for, shot) -> None:
    live = serve()
    page = page_for()
    sign_in(page, live)
    page.goto(live.url + "/backlog")
    title = "Local testing capability"
    item = page.locator(f"[data-status=todo] [data-item='{title}']")
    item.locator("[data-move=doing]").click()
    page.locator(f"[data-status=doing] [data-item='{title}']").wait_for()
    assert page.locator(f"[data-status=todo] [data-item='{title}']").count() == 0
    page.reload()
    assert page.locator(f"[data-status=doing] [data-item='{title}']").count() == 1
    shot(page, "backlog-moved")


def test_ticking_a_milestone_task_updates_its_bar(with_document, serve, page_for) -> None:
    live = serve()
    page = page_for()
    sign_in(page, live)
    page.goto(live.url + "/milestones")
    milestone = page.locator("[data-milestone='Testing Framework Migration']")
    before = milestone.locator("progress").get_attribute("value")
    milestone.get_by_role("checkbox", checked=False).first.click()
    page.wait_for_function(
        "v => document.querySelector(\"[data-milestone='Testing Framework Migration'] progress\").getAttribute('value') !== v",
        arg=before,
    )
    assert int(milestone.locator("progress").get_attribute("value")) == int(before) + 1


def test_deleting_a_backlog_item_asks_first(with_document, serve, page_for) -> None:
    live = serve()
    page = page_for()
    sign_in(page, live)
    page.goto(live.url + "/backlog")
    title = "Default alert configurations"
    item = page.locator(f"[data-item='{title}']")
    asked: list[str] = []

    def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    item.get_by_role("button", name="Delete").click()
    for _ in range(250):  # the handler runs while playwright waits
        if asked:
            break
        page.wait_for_timeout(20)
    assert asked == [f"Delete “{title}”?"]
    assert item.count() == 1  # cancelled: still there

    page.once("dialog", lambda d: answer(d, True))
    item.get_by_role("button", name="Delete").click()
    item.wait_for(state="detached")
    page.reload()
    assert page.locator(f"[data-item='{title}']").count() == 0


def test_a_write_without_signing_in_says_so_in_the_page(with_document, serve, page_for, shot) -> None:
    live = serve()
    page = page_for()
    page.goto(live.url + "/blockers")
    page.evaluate("window.sawmillMarker = 'same page'")
    blocker = page.locator(f"[data-list=open] [data-blocker='{BLOCKER}']")
    blocker.get_by_label("Resolution note").fill("anonymous fix")
    blocker.get_by_role("button", name="Resolve").click()
    flash = page.locator("#flash .flash")
    flash.wait_for()
    assert "Sign in" in flash.inner_text()
    assert flash.get_by_role("link", name="Sign in").get_attribute("href") == "/signin?next=/blockers"
    assert page.evaluate("window.sawmillMarker") == "same page"
    assert blocker.count() == 1 and open_blockers(with_document) == [BLOCKER]
    shot(page, "signin-needed")



def test_a_double_click_on_add_adds_once(with_document, serve, page_for) -> None:
    """htmx disables the button while its post is in flight: the second click is not a second post."""
    live = serve()
    page = page_for()
    sign_in(page, live)
    posts: list[str] = []
    answered: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.on("requestfinished", lambda r: answered.append(r.url) if r.method == "POST" else None)

    def settled() -> None:
        page.wait_for_timeout(300)  # a post the second click queued starts as soon as the first is swapped in
        page.wait_for_function("() => !document.querySelector('.htmx-request')")
        while len(answered) < len(posts):
            page.wait_for_timeout(20)

    page.goto(live.url + "/backlog")
    add = page.get_by_test_id("add-item")
    add.get_by_label("New item").fill("Clicked twice")
    add.get_by_role("button", name="Add").dblclick()
    page.locator("[data-item='Clicked twice']").wait_for()
    settled()
    page.goto(live.url + "/blockers")
    page.locator("summary", has_text="Add a blocker").click()
    blocker = page.get_by_test_id("add-blocker")
    blocker.get_by_label("Title").fill("Clicked twice too")
    blocker.get_by_role("button", name="Add blocker").dblclick()
    page.locator("[data-blocker='Clicked twice too']").wait_for()
    settled()

    assert posts == [live.url + "/backlog", live.url + "/blockers"]
    with session_scope(with_document) as session:
        titles = [i["title"] for g in progress_read.backlog(session) for items in g["items"].values() for i in items]
    assert titles.count("Clicked twice") == 1
    assert open_blockers(with_document).count("Clicked twice too") == 1
