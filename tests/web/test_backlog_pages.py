"""A long backlog is pages of links, on the board and in the API; a write answers with the page it came from."""

from __future__ import annotations

import re

from app.store.db import session_scope
from app.store.progress_doc import import_document
from app.web.planning import BACKLOG_PAGE
from tests.web.conftest import DEMO_DOCUMENT

EXTRA = 2 * BACKLOG_PAGE + 50


def long_backlog(db_url: str) -> None:
    """The demo document with EXTRA more backlog items in a category of their own (4 + 4 + EXTRA in all)."""
    lines = "".join(f"- [ ] bulk item {n}\n" for n in range(EXTRA))
    document = DEMO_DOCUMENT.read_text().replace("## Milestones", f"### Bulk\n\n{lines}\n## Milestones", 1)
    with session_scope(db_url) as session:
        import_document(session, document, who="test")


def items(html: str) -> list[str]:
    return re.findall(r'data-item="([^"]*)"', html)


def pager_links(html: str) -> dict[str, str]:
    return {rel: href for href, rel in re.findall(r'<a href="([^"]*)" rel="(next|prev)"', html)}


def test_the_board_shows_one_page_of_items_with_plain_links_to_the_others(client, db_url) -> None:
    long_backlog(db_url)
    total = 8 + EXTRA
    first = client.get("/backlog").text
    assert len(items(first)) == BACKLOG_PAGE
    assert f"Page 1 of 3 ({total:,} items, {BACKLOG_PAGE} a page)" in first
    assert pager_links(first) == {"next": "/backlog?page=2"}
    assert '<span class="n">' + str(total) + "</span>" in first  # the todo lane counts every page's items

    second = client.get("/backlog?page=2").text
    assert pager_links(second) == {"prev": "/backlog", "next": "/backlog?page=3"}
    assert items(second)[0] == f"bulk item {BACKLOG_PAGE - 8}"  # document order goes on where page 1 stopped
    last = client.get("/backlog?page=3").text
    assert len(items(last)) == total - 2 * BACKLOG_PAGE and pager_links(last) == {"prev": "/backlog?page=2"}
    assert client.get("/backlog?page=99").text == last  # past the end: the last page
    assert items(client.get("/backlog?page=nonsense").text) == items(first)
    assert items(client.get("/backlog?page=²").text) == items(first)  # a digit to str.isdigit, not a number
    assert 'action="/backlog/' in second and "?page=2" in second  # its forms post back to page 2


def test_a_write_from_a_page_answers_with_that_page(client, bearer, db_url) -> None:
    long_backlog(db_url)
    second = client.get("/backlog?page=2").text
    item_id = re.search(r'id="item-(\d+)"', second)[1]
    moved = client.post(f"/backlog/{item_id}/move?page=2", data={"status": "doing"}, headers=bearer)
    assert moved.status_code == 303 and moved.headers["location"] == f"/backlog?page=2#item-{item_id}"
    fragment = client.post(f"/backlog/{item_id}/move?page=2", data={"status": "done"},
                           headers={**bearer, "HX-Request": "true"})  # fmt: skip
    assert fragment.status_code == 200 and f'id="item-{item_id}"' in fragment.text
    assert "Page 2 of 3" in fragment.text


def test_a_short_backlog_has_no_pager(client) -> None:
    page = client.get("/backlog").text
    assert len(items(page)) == 8 and 'data-testid="backlog-pager"' not in page


def test_the_api_pages_the_backlog_with_a_total_and_link_headers(client, db_url) -> None:
    long_backlog(db_url)
    total = 8 + EXTRA
    everything = client.get("/api/backlog")  # the default page holds them all
    assert everything.headers["x-total-count"] == str(total) and "link" not in everything.headers
    first = client.get("/api/backlog", params={"per_page": 100})
    assert sum(len(v) for g in first.json() for v in g["items"].values()) == 100
    assert first.headers["link"] == '</api/backlog?page=2&per_page=100>; rel="next"'
    third = client.get("/api/backlog?page=3&per_page=100")
    assert third.headers["link"] == '</api/backlog?page=2&per_page=100>; rel="prev"'
    assert [g["category"] for g in third.json()] == ["Bulk"]
    assert sum(len(v) for g in third.json() for v in g["items"].values()) == total - 200
    refused = client.get("/api/backlog?per_page=5000")
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "per_page"


def test_a_form_error_on_a_later_page_is_drawn_beside_its_item_on_that_page(client, bearer, db_url) -> None:
    long_backlog(db_url)
    item_id = re.search(r'id="item-(\d+)"', client.get("/backlog?page=2").text)[1]
    for headers in (bearer, {**bearer, "HX-Request": "true"}):
        empty = client.post(f"/backlog/{item_id}?page=2", data={"title": "", "category": "Bulk"}, headers=headers)
        assert empty.status_code == 422 and "Page 2 of 3" in empty.text
        assert re.search(rf'id="item-{item_id}".*?id="edit-{item_id}-title-error"[^>]*>the title is required', empty.text, re.S)
        assert "hx-retarget" not in empty.headers  # the board, not a flash
        moved = client.post(f"/backlog/{item_id}/move?page=2", data={"status": "someday"}, headers=headers)
        assert moved.status_code == 422 and "Page 2 of 3" in moved.text
        item = re.search(rf'<article class="item[^"]*" id="item-{item_id}".*?</article>', moved.text, re.S)[0]
        assert re.search(r'<p class="form-error" role="alert">[^<]*someday', item)
