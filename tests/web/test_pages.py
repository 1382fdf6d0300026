"""Pages, fragments and errors, in process (the browser tests cover the same in chromium)."""

from __future__ import annotations

import re

import pytest

from app.store import progress_read
from app.store.backlog import MAX_TEXT
from app.store.blockers import MAX_TITLE
from app.store.db import session_scope

HTMX = {"HX-Request": "true"}
PAGES = {"/": "live", "/backlog": "backlog", "/milestones": "milestones", "/blockers": "blockers"}


@pytest.mark.parametrize("path,block", PAGES.items())
def test_htmx_gets_the_named_block_of_the_same_page(client, path: str, block: str) -> None:
    page = client.get(path)
    fragment = client.get(path, headers=HTMX)
    assert page.status_code == fragment.status_code == 200
    assert fragment.text.lstrip().startswith("<section id=")
    assert "<html" not in fragment.text
    assert fragment.text.strip() in page.text  # the fragment is the page's own block, byte for byte
    assert page.headers["vary"] == fragment.headers["vary"] == "HX-Request, Cookie, Accept-Encoding"


def test_a_history_restore_gets_the_whole_page(client) -> None:
    response = client.get("/blockers", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" in response.text


def test_unknown_paths_get_an_html_404_page_and_api_clients_json(client) -> None:
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text and "Traceback" not in page.text
    api = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert api.status_code == 404
    assert api.json() == {"error": {"status": 404, "message": "There is no page at this address.", "field": None}}


def test_an_htmx_error_without_a_form_goes_to_the_flash_slot(client) -> None:
    response = client.get("/modules/nope", headers=HTMX)
    assert response.status_code == 404
    assert response.headers["hx-retarget"] == "#flash"
    assert 'class="flash"' in response.text


def test_a_write_without_an_identity_is_refused_and_stores_nothing(client, db_url) -> None:
    response = client.post("/blockers/1/resolve", data={"version": "1", "note": "sneaky"})
    assert response.status_code == 401
    assert "Sign in" in response.text
    with session_scope(db_url) as session:
        assert [b["title"] for b in progress_read.blockers(session)["open"]] == ["Testing Framework"]


def test_bad_input_redraws_the_form_with_the_message_beside_the_field(client, bearer, db_url) -> None:
    response = client.post("/blockers/1/resolve", data={"version": "1", "note": "  "}, headers=bearer)
    assert response.status_code == 422
    assert re.search(r'<textarea id="resolve-1-note" name="note"[^>]*aria-invalid="true"', response.text)
    assert 'id="resolve-1-note-error"' in response.text
    bad_version = client.post("/blockers/1/resolve", data={"version": "x", "note": "ok"}, headers=bearer)
    assert bad_version.status_code == 422
    with session_scope(db_url) as session:
        assert progress_read.blockers(session)["open"][0]["version"] == 1


def test_a_form_post_answers_303_and_htmx_gets_the_block(client, bearer) -> None:
    plain = client.post("/backlog", data={"category": "Testing Improvements", "title": "Run chainsaw on kind"}, headers=bearer)
    assert plain.status_code == 303 and plain.headers["location"] == "/backlog"
    htmx = client.post("/backlog", data={"category": "New Things", "title": "A new heading"}, headers={**bearer, **HTMX})
    assert htmx.status_code == 200
    assert htmx.text.lstrip().startswith('<section id="backlog">')
    assert "Run chainsaw on kind" in htmx.text and "A new heading" in htmx.text


def test_the_document_renders_without_passing_html_through_and_downloads(client, bearer) -> None:
    client.post("/backlog", data={"category": "Testing Improvements", "title": "<script>alert(1)</script>"}, headers=bearer)
    page = client.get("/document")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text
    assert '<span class="box done"' in page.text
    download = client.get("/document.md")
    assert download.headers["content-disposition"] == 'attachment; filename="progress.md"'
    assert download.text.startswith("# Progress Tracking\n")
    assert "- [ ] <script>alert(1)</script>" in download.text


def test_rescan_without_a_repository_says_so(client, bearer) -> None:
    response = client.post("/scan", headers=bearer)
    assert response.status_code == 422
    assert "no repository to scan" in response.text


def test_a_server_error_is_a_page_not_a_traceback(client) -> None:
    def boom() -> None:
        raise RuntimeError("secret internals")

    client.app.add_api_route("/boom", boom)
    page = client.get("/boom")
    assert page.status_code == 500
    assert "Something went wrong" in page.text
    assert "secret internals" not in page.text and "Traceback" not in page.text
    api = client.get("/boom", headers={"Accept": "application/json"})
    assert api.json()["error"]["status"] == 500 and "secret" not in api.text


def test_a_damaged_hidden_field_is_reported_above_the_form(client, bearer) -> None:
    response = client.post("/blockers/1/resolve", data={"version": "x", "note": "ok"}, headers=bearer)
    assert response.status_code == 422
    assert re.search(r'<p class="form-error" role="alert">the form(&#39;|\')s version is missing or damaged', response.text)


def backlog_titles(db_url: str) -> dict[str, str]:
    with session_scope(db_url) as session:
        groups = progress_read.backlog(session)
    return {i["title"]: s for g in groups for s, items in g["items"].items() for i in items}


def test_backlog_edit_and_delete(client, bearer, db_url) -> None:
    edited = client.post("/backlog/1", data={"title": "Move to cilium", "category": "Infrastructure Evolution"}, headers=bearer)
    assert edited.status_code == 303
    assert "Move to cilium" in backlog_titles(db_url)
    empty = client.post("/backlog/1", data={"title": "", "category": "Infrastructure Evolution"}, headers=bearer)
    assert empty.status_code == 422
    assert 'id="edit-1-title-error"' in empty.text
    assert "<details open>" in empty.text  # the edit form is open where the error is
    deleted = client.post("/backlog/1/delete", headers={**bearer, **HTMX})
    assert deleted.status_code == 200 and "Move to cilium" not in deleted.text
    assert "Move to cilium" not in backlog_titles(db_url)
    gone = client.post("/backlog/1/delete", headers=bearer)
    assert gone.status_code == 404 and "no backlog item 1" in gone.text


def test_a_backlog_title_saved_again_from_its_edit_form_keeps_its_right_to_left_marks(client, bearer, db_url) -> None:
    """U+200F is an ordinary mark in Hebrew or Arabic text. The edit form must hold it as it is:
    written as an escape there, it was saved back as the six characters "\\u200f"."""
    title = "שלום \u200f(v2)\u200f check"
    assert client.post("/backlog/1", data={"title": title, "category": "Infrastructure Evolution"}, headers=bearer).status_code == 303
    values = re.findall(r'<input name="title" [^>]*value="([^"]*)"', client.get("/backlog").text)
    assert title in values  # the edit form's value, with the marks themselves
    shown = values[values.index(title)]
    assert client.post("/backlog/1", data={"title": shown, "category": "Testing Improvements"}, headers=bearer).status_code == 303
    assert title in backlog_titles(db_url)


def test_milestone_tick_refuses_a_bad_value(client, bearer) -> None:
    response = client.post("/milestones/tasks/3", data={"done": "maybe"}, headers=bearer)
    assert response.status_code == 422
    assert "done must be true or false" in response.text


def test_adding_a_blocker(client, bearer, db_url) -> None:
    empty = client.post("/blockers", data={"title": " ", "points": ""}, headers=bearer)
    assert empty.status_code == 422 and 'id="add-blocker-title-error"' in empty.text
    added = client.post("/blockers", data={"title": "No kind cluster in CI", "points": "runner too small\nno nested virt"},
                        headers={**bearer, **HTMX})  # fmt: skip
    assert added.status_code == 200 and "No kind cluster in CI" in added.text
    with session_scope(db_url) as session:
        new = progress_read.blockers(session)["open"][-1]
    assert (new["title"], new["points"]) == ("No kind cluster in CI", ["runner too small", "no nested virt"])


@pytest.mark.parametrize("points", ["x" * 100_000, "\n".join(f"point {n}" for n in range(50_000))],
                         ids=["one long line", "50,000 lines"])  # fmt: skip
def test_a_blocker_with_points_an_import_would_refuse_is_refused_beside_the_points(client, bearer, db_url, points) -> None:
    before = client.get("/document.md").text
    refused = client.post("/blockers", data={"title": "Registry quota", "points": points}, headers=bearer)
    assert refused.status_code == 422
    error = re.search(r'<small class="field-error" id="add-blocker-points-error" role="alert">([^<]*)</small>', refused.text)
    assert error and "at most" in error[1] and "point" in error[1]
    assert re.search(r'<textarea name="points"[^>]*aria-invalid="true"', refused.text)
    assert client.get("/document.md").text == before


def test_the_add_forms_carry_the_stores_limits_as_maxlength(client) -> None:
    blockers, backlog = client.get("/blockers").text, client.get("/backlog").text
    assert re.search(rf'data-testid="add-blocker".*?<input name="title" maxlength="{MAX_TITLE}"', blockers, re.S)
    assert re.search(rf'data-testid="add-item".*?<input name="category"[^>]*maxlength="{MAX_TEXT}"'
                     rf'.*?<input name="title"[^>]*maxlength="{MAX_TEXT}"', backlog, re.S)  # fmt: skip


@pytest.mark.parametrize(
    "path, data",
    [
        ("/blockers/99999999999999999999/resolve", {"version": "1", "note": "ok"}),
        ("/blockers/1/resolve", {"version": "99999999999999999999", "note": "ok"}),
        ("/backlog/99999999999999999999/move", {"status": "done"}),
        ("/milestones/tasks/99999999999999999999", {"done": "1"}),
    ],
)
def test_numbers_beyond_sqlite_range_are_bad_input_not_a_crash(client, bearer, path: str, data: dict) -> None:
    response = client.post(path, data=data, headers=bearer)
    assert response.status_code in (404, 422)


def test_an_error_on_a_hidden_field_is_shown_above_its_form(client, bearer, db_url) -> None:
    before = backlog_titles(db_url)
    response = client.post("/backlog/1/move", data={"status": "someday"}, headers=bearer)
    assert response.status_code == 422
    item = re.search(r'<article class="item[^"]*" id="item-1".*?</article>', response.text, re.S).group(0)
    assert re.search(r'<p class="form-error" role="alert">[^<]*someday', item)  # the message reaches the reader
    assert backlog_titles(db_url) == before


@pytest.mark.parametrize("path", ["/backlog/0/move", "/blockers/0/resolve", "/milestones/tasks/-1"])
def test_an_impossible_id_in_a_page_address_is_a_404_page(client, bearer, path: str) -> None:
    response = client.post(path, data={"status": "done", "version": "1", "note": "x", "done": "true"}, headers=bearer)
    assert response.status_code == 404
    assert "Page not found" in response.text and "Traceback" not in response.text


def test_the_document_page_before_any_import_says_how_to_get_one(db_url) -> None:
    from app.config import Settings
    from app.web.main import create_app

    from .conftest import TestClient

    bare = TestClient(create_app(Settings(database_url=db_url)), raise_server_exceptions=False)
    page = bare.get("/document")
    assert page.status_code == 200
    assert "No progress document yet" in page.text and "sawmill import FILE" in page.text
    assert 'data-testid="download"' not in page.text
    assert bare.get("/document.md").status_code == 404  # nothing to download


def test_reopening_a_resolved_blocker_and_a_stale_reopen(client, bearer, db_url) -> None:
    with session_scope(db_url) as session:
        first = progress_read.blockers(session)["resolved"][0]
    reopened = client.post(f"/blockers/{first['id']}/reopen", data={"version": str(first["version"])}, headers=bearer)
    assert reopened.status_code == 303 and reopened.headers["location"] == f"/blockers#blocker-{first['id']}"
    with session_scope(db_url) as session:
        assert first["title"] in [b["title"] for b in progress_read.blockers(session)["open"]]
    stale = client.post(f"/blockers/{first['id']}/reopen", data={"version": str(first["version"])}, headers={**bearer, **HTMX})
    assert stale.status_code == 409
    assert stale.text.lstrip().startswith('<section id="blockers"')  # the block again, in place
    article = re.search(rf'<article class="blocker open" id="blocker-{first["id"]}".*?</article>', stale.text, re.S).group(0)
    assert 'class="form-error"' in article


def test_a_message_with_no_place_on_its_page_still_reaches_the_reader(client, bearer, db_url) -> None:
    # No task 9999 on the page, so no form to draw the message beside: it comes alone, in the flash slot.
    response = client.post("/milestones/tasks/9999", data={"done": "maybe"}, headers={**bearer, **HTMX})
    assert response.status_code == 422
    assert response.headers["hx-retarget"] == "#flash"
    assert response.text == '<p class="flash" role="alert">done must be true or false</p>'
    page = client.post("/milestones/tasks/9999", data={"done": "maybe"}, headers=bearer)
    assert page.status_code == 422 and "done must be true or false" in page.text
