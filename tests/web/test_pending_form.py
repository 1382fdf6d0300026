"""A form posted before signing in: the 401 is the sign-in form carrying it; Delete asks first."""

from __future__ import annotations

import re

from app.store.db import session_scope
from app.store.tokens import create_token
from tests.signin import post_signin

RESOLVE = {"note": "fixed <b>upstream</b>", "version": "1"}


def hidden(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


def token(db_url: str, name: str = "dora") -> str:
    with session_scope(db_url) as session:
        return create_token(session, name)


def test_the_401_carries_the_form_and_returns_to_a_page_never_the_post(client) -> None:
    answer = client.post("/blockers/1/resolve", data=RESOLVE, headers={"Referer": "http://testserver/blockers?x=1"})
    assert answer.status_code == 401 and "<h1>Sign in</h1>" in answer.text
    fields = hidden(answer.text)
    assert fields["next"] == "/blockers?x=1"
    assert (fields["pending_template"], fields["pending_key"]) == ("blockers.html", "resolve-1")
    assert fields["pending.note"] == "fixed &lt;b&gt;upstream&lt;/b&gt;"  # carried, escaped
    assert "csrf_token" not in fields and "/signin?next=/blockers/1/resolve" not in answer.text

    elsewhere = client.post("/blockers/1/resolve", data=RESOLVE, headers={"Referer": "https://evil.example/blockers"})
    assert hidden(elsewhere.text)["next"] == "/blockers"  # another site's page is never a destination: the form's own
    bare = client.post("/scan", data={})
    assert hidden(bare.text)["next"] == "/"


def test_after_signing_in_the_form_is_back_filled_and_nothing_is_stored(client, db_url: str) -> None:
    carried = hidden(client.post("/blockers/1/resolve", data=RESOLVE).text)
    carried.pop("signin_csrf")
    back = post_signin(client, {**carried, "pending.note": RESOLVE["note"], "token": token(db_url)})
    assert back.status_code == 200 and "session" in back.headers["set-cookie"]
    assert "Signed in as dora. Nothing is saved yet" in back.text
    assert '>fixed &lt;b&gt;upstream&lt;/b&gt;</textarea>' in back.text
    assert client.get("/api/blockers").json()["open"][0]["id"] == 1  # still open
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', back.text).group(1)
    sent = client.post("/blockers/1/resolve", data={**RESOLVE, "csrf_token": csrf})
    assert sent.status_code == 303 and sent.headers["location"] == "/blockers#blocker-1"


def test_a_forged_or_unknown_pending_form_is_ignored(client, db_url: str) -> None:
    forged = {"next": "/milestones", "pending_template": "../base.html", "pending_key": "x", "pending.a": "b"}
    answer = post_signin(client, {**forged, "token": token(db_url)})
    assert answer.status_code == 303 and answer.headers["location"] == "/milestones"


def test_htmx_and_api_clients_keep_their_own_401(client) -> None:
    flash = client.post("/blockers/1/resolve", data=RESOLVE, headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/blockers"})
    assert flash.status_code == 401 and 'href="/signin?next=/blockers"' in flash.text
    api = client.post("/api/blockers/1/resolve", json={"note": "x", "version": 1})
    assert api.status_code == 401 and api.json()["error"]["status"] == 401


def test_delete_without_javascript_asks_on_a_page_first(client, bearer) -> None:
    board = client.get("/backlog").text
    assert re.search(r'<form method="get" action="/backlog/1/delete"[^>]* hx-post="/backlog/1/delete"', board)
    confirm = client.get("/backlog/1/delete", headers=bearer)
    assert confirm.status_code == 200 and 'data-testid="confirm-delete"' in confirm.text
    title = client.get("/api/backlog").json()[0]["items"]["todo"][0]["title"]
    assert title in confirm.text and '<form method="post" action="/backlog/1/delete">' in confirm.text
    assert client.get("/api/backlog").json()[0]["items"]["todo"][0]["title"] == title  # asking deletes nothing
    missing = client.get("/backlog/999/delete")
    assert missing.status_code == 404 and "no backlog item 999" in missing.text


def test_behind_sign_in_for_reads_a_post_still_carries_its_form(db_url: str) -> None:
    import warnings

    from app.config import Settings
    from app.store.progress_doc import import_document
    from app.web.main import create_app
    from tests.web.conftest import DEMO_DOCUMENT

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    with session_scope(db_url) as session:
        import_document(session, DEMO_DOCUMENT.read_bytes(), who="test")
    closed = TestClient(create_app(Settings(database_url=db_url, read_requires_signin=True)), follow_redirects=False)
    answer = closed.post("/blockers/1/resolve", data=RESOLVE, headers={"Referer": "http://testserver/blockers"})
    assert answer.status_code == 401  # not a 303 to /signin?next=/blockers/1/resolve, a 405 after sign-in
    fields = hidden(answer.text)
    assert fields["next"] == "/blockers" and fields["pending_key"] == "resolve-1"
    assert fields["pending.note"] == "fixed &lt;b&gt;upstream&lt;/b&gt;"
    assert closed.get("/blockers").status_code == 303  # pages still send a visitor to /signin


def test_the_confirmation_returns_to_the_backlog_page_it_came_from(client) -> None:
    confirm = client.get("/backlog/1/delete?page=2").text
    assert '<form method="post" action="/backlog/1/delete?page=2">' in confirm
    assert 'href="/backlog?page=2#item-1"' in confirm


def test_a_form_sent_from_a_later_backlog_page_comes_back_on_that_page(client, db_url: str) -> None:
    from tests.web.test_backlog_pages import long_backlog

    long_backlog(db_url)
    item_id = re.search(r'id="item-(\d+)"', client.get("/backlog?page=2").text)[1]
    answer = client.post(f"/backlog/{item_id}?page=2", data={"title": "renamed on page 2", "category": "Bulk"})
    assert answer.status_code == 401
    carried = hidden(answer.text)
    assert (carried["pending_key"], carried["pending_page"]) == (f"edit-{item_id}", "2")
    carried.pop("signin_csrf")
    back = post_signin(client, {**carried, "token": token(db_url)})
    assert back.status_code == 200 and "Page 2 of 3" in back.text
    assert re.search(rf'id="item-{item_id}".*?Signed in as dora\. Nothing is saved yet', back.text, re.S)
    assert f'action="/backlog/{item_id}?page=2"' in back.text and 'value="renamed on page 2"' in back.text
