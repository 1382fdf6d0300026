"""Blockers, backlog, milestones, pins, the document and the log over the API, with identities."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.store.db import session_scope
from app.store.progress_doc import import_document
from app.store.progress_sync import MAX_PIN_REASON
from tests.signin import post_signin

DOCUMENT = Path(__file__).resolve().parents[2] / "app" / "demo" / "progress.md"


@pytest.fixture
def api(db_url, make_client, new_token):
    with session_scope(db_url) as session:
        import_document(session, DOCUMENT.read_bytes(), who="test", source="progress.md")
    client = make_client()
    client.headers["Authorization"] = f"Bearer {new_token('alice')}"
    return client


def shape(response) -> dict:
    assert set(response.json()) == {"error"}
    return response.json()["error"]


def open_blocker(api) -> dict:
    return api.get("/api/blockers").json()["open"][0]


def test_resolve_records_the_identity_not_a_body_field(api) -> None:
    blocker = open_blocker(api)
    response = api.post(
        f"/api/blockers/{blocker['id']}/resolve",
        json={"version": blocker["version"], "note": "moved to chainsaw", "resolved_by": "mallory"},
    )
    assert response.status_code == 200
    assert response.json()["resolved_by"] == "alice"
    assert response.json()["status"] == "resolved"
    listed = api.get("/api/blockers").json()
    assert blocker["id"] in [b["id"] for b in listed["resolved"]]
    document = api.get("/api/document").text
    assert blocker["title"] in document.split("### Resolved Challenges", 1)[1]
    assert api.get("/api/log", params={"target": f"blocker:{blocker['id']}"}).json()[0]["who"] == "alice"


def test_a_stale_resolve_is_a_409_naming_who_was_first(api, new_token) -> None:
    blocker = open_blocker(api)
    body = {"version": blocker["version"], "note": "done"}
    assert api.post(f"/api/blockers/{blocker['id']}/resolve", json=body).status_code == 200
    second = api.post(f"/api/blockers/{blocker['id']}/resolve", json=body,
                      headers={"Authorization": f"Bearer {new_token('bob')}"})  # fmt: skip
    assert second.status_code == 409
    assert "alice" in shape(second)["message"]


def test_resolve_without_a_note_is_a_422_on_the_note(api) -> None:
    blocker = open_blocker(api)
    response = api.post(f"/api/blockers/{blocker['id']}/resolve", json={"version": blocker["version"], "note": " "})
    assert response.status_code == 422 and shape(response)["field"] == "note"


def test_reopen(api) -> None:
    blocker = open_blocker(api)
    resolved = api.post(f"/api/blockers/{blocker['id']}/resolve", json={"version": blocker["version"], "note": "x"})
    reopened = api.post(f"/api/blockers/{blocker['id']}/reopen", json={"version": resolved.json()["version"]})
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    assert reopened.json()["resolved_by"] is None


def test_status_and_badge_follow_a_resolve(api) -> None:
    before = api.get("/api/status")
    assert len(before.json()["open_blockers"]) == 1
    assert api.get("/api/badge/blockers").json()["message"] == "1 open"
    blocker = open_blocker(api)
    api.post(f"/api/blockers/{blocker['id']}/resolve", json={"version": blocker["version"], "note": "x"})
    after = api.get("/api/status", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.json()["open_blockers"] == []
    assert api.get("/api/badge/blockers").json()["message"] == "none open"


def test_backlog_create_update_move_delete(api) -> None:
    created = api.post("/api/backlog", json={"category": "Testing Improvements", "title": "Flaky test report"})
    assert created.status_code == 201
    item = created.json()
    renamed = api.patch(f"/api/backlog/{item['id']}", json={"title": "Flaky-test report"})
    assert renamed.json()["title"] == "Flaky-test report"
    moved = api.post(f"/api/backlog/{item['id']}/move", json={"status": "doing", "position": 0})
    assert moved.json()["status"] == "doing"
    group = next(g for g in api.get("/api/backlog").json() if g["category"] == "Testing Improvements")
    assert group["items"]["doing"][0] == {"id": item["id"], "title": "Flaky-test report", "status": "doing", "position": 0}
    assert api.delete(f"/api/backlog/{item['id']}").status_code == 204
    assert api.delete(f"/api/backlog/{item['id']}").status_code == 404
    assert api.get("/api/log").json()[0]["action"] == "backlog.delete"


def test_backlog_bad_status_is_a_422(api) -> None:
    response = api.post("/api/backlog", json={"category": "X", "title": "Y", "status": "someday"})
    assert response.status_code == 422 and shape(response)["field"] == "status"


def test_milestone_tick(api) -> None:
    milestone = api.get("/api/milestones").json()[0]
    task = next(t for t in milestone["tasks"] if t["done"] is False)
    ticked = api.put(f"/api/milestones/tasks/{task['id']}", json={"done": True})
    assert ticked.status_code == 200 and ticked.json()["done"] is True
    again = next(m for m in api.get("/api/milestones").json() if m["id"] == milestone["id"])
    assert again["done"] == milestone["done"] + 1


def test_pin_and_unpin(api) -> None:
    entry = api.get("/api/entries").json()[0]
    pinned = api.put(f"/api/entries/{entry['id']}/pin", json={"reason": "being retired", "done": True})
    assert pinned.status_code == 200
    assert pinned.json()["pinned"] and pinned.json()["pinned_by"] == "alice"
    past = api.put(f"/api/entries/{entry['id']}/pin", json={"reason": "x", "until": "2000-01-01"})
    assert past.status_code == 422 and shape(past)["field"] == "until"
    longest = api.put(f"/api/entries/{entry['id']}/pin", json={"reason": "r" * MAX_PIN_REASON})  # what the page takes
    assert longest.status_code == 200 and longest.json()["pin_reason"] == "r" * MAX_PIN_REASON
    too_long = api.put(f"/api/entries/{entry['id']}/pin", json={"reason": "r" * (MAX_PIN_REASON + 1)})
    assert too_long.status_code == 422 and shape(too_long)["field"] == "reason"
    assert api.delete(f"/api/entries/{entry['id']}/pin").json()["pinned"] is False


def test_document_is_markdown(api) -> None:
    response = api.get("/api/document")
    assert response.headers["content-type"].startswith("text/markdown")
    assert response.text == DOCUMENT.read_text()


WRITES = [
    ("post", "/api/blockers/1/resolve", {"version": 1, "note": "x"}),
    ("post", "/api/blockers/1/reopen", {"version": 1}),
    ("post", "/api/backlog", {"category": "X", "title": "Y"}),
    ("patch", "/api/backlog/1", {"title": "Z"}),
    ("post", "/api/backlog/1/move", {"status": "done"}),
    ("delete", "/api/backlog/1", None),
    ("put", "/api/milestones/tasks/1", {"done": True}),
    ("put", "/api/entries/1/pin", {"reason": "r"}),
    ("delete", "/api/entries/1/pin", None),
    ("post", "/api/scans", None),
]


@pytest.mark.parametrize(("method", "url", "body"), WRITES)
def test_every_write_without_identity_is_refused_and_changes_nothing(api, method, url, body) -> None:
    before = api.get("/api/log").json()
    del api.headers["Authorization"]
    kwargs = {"json": body} if body is not None else {}
    response = api.request(method.upper(), url, **kwargs)
    assert response.status_code == 401
    assert shape(response)["status"] == 401
    assert api.get("/api/log").json() == before


@pytest.mark.parametrize(("method", "url", "body"), WRITES)
def test_every_write_by_session_needs_csrf(api, method, url, body, new_token) -> None:
    del api.headers["Authorization"]
    assert post_signin(api, {"token": new_token("carol")}).status_code == 303
    kwargs = {"json": body} if body is not None else {}
    assert api.request(method.upper(), url, **kwargs).status_code == 403


@pytest.mark.parametrize(("method", "url", "body"), WRITES)
def test_every_write_with_a_revoked_token_is_refused(api, method, url, body, new_token, revoke) -> None:
    token = new_token("dave")
    revoke("dave")
    kwargs = {"json": body} if body is not None else {}
    response = api.request(method.upper(), url, headers={"Authorization": f"Bearer {token}"}, **kwargs)
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "url", "body"), WRITES)
def test_every_write_ignores_a_proxy_header_from_an_untrusted_address(api, make_client, method, url, body) -> None:
    client = make_client(client=("192.168.1.9", 1), trust_proxy_header=True, trusted_proxies=["10.0.0.0/24"])
    kwargs = {"json": body} if body is not None else {}
    response = client.request(method.upper(), url, headers={"Remote-User": "mallory", "X-CSRF-Token": "x"}, **kwargs)
    assert response.status_code == 401
