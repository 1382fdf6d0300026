"""The auth matrix for every dashboard form write, as the API's writes have it.

Each form is posted as a browser would (urlencoded): without an identity,
with a token, with a revoked token, signed in without and with the CSRF
token, and with a proxy header from an address that is not trusted.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from app.store.db import session_scope
from sqlmodel import select

from app.store.progress import MigrationEntry
from app.store.progress_doc import import_document
from app.store.progress_sync import pin_entry
from tests.signin import post_signin

from .test_api_progress import DOCUMENT

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def open_blocker(api) -> dict:
    return api.get("/api/blockers").json()["open"][0]


def resolved_blocker(api) -> dict:
    return api.get("/api/blockers").json()["resolved"][0]


def backlog_item(api) -> dict:
    groups = api.get("/api/backlog").json()
    return next({**item, "category": g["category"]} for g in groups for items in g["items"].values() for item in items)


def first_entry(api) -> dict:
    return api.get("/api/entries").json()[0]


def pinned_entry(api) -> dict:
    entries = api.get("/api/entries").json()
    return next((e for e in entries if e["pinned"]), entries[0])


def open_task(api) -> dict:
    return next(t for m in api.get("/api/milestones").json() for t in m["tasks"] if t["done"] is False)


# (route, what to post, read through the API just before): one line per dashboard form.
FORMS = {
    "/scan": lambda api: ("/scan", {}),
    "/backlog": lambda api: ("/backlog", {"category": "Testing Improvements", "title": "Flaky test report"}),
    "/backlog/{item_id}": lambda api: (
        f"/backlog/{backlog_item(api)['id']}", {"title": "Renamed", "category": backlog_item(api)["category"]}),
    "/backlog/{item_id}/move": lambda api: (f"/backlog/{backlog_item(api)['id']}/move", {"status": "doing"}),
    "/backlog/{item_id}/delete": lambda api: (f"/backlog/{backlog_item(api)['id']}/delete", {}),
    "/milestones/tasks/{task_id}": lambda api: (f"/milestones/tasks/{open_task(api)['id']}", {"done": "true"}),
    "/blockers": lambda api: ("/blockers", {"title": "Vault sidecar", "points": "one\ntwo"}),
    "/blockers/{blocker_id}/resolve": lambda api: (
        f"/blockers/{open_blocker(api)['id']}/resolve", {"version": str(open_blocker(api)["version"]), "note": "done"}),
    "/blockers/{blocker_id}/reopen": lambda api: (
        f"/blockers/{resolved_blocker(api)['id']}/reopen", {"version": str(resolved_blocker(api)["version"])}),
    "/document/entries/{entry_id}/pin": lambda api: (
        f"/document/entries/{first_entry(api)['id']}/pin", {"reason": "being retired", "done": "true"}),
    "/document/entries/{entry_id}/unpin": lambda api: (f"/document/entries/{pinned_entry(api)['id']}/unpin", {}),
    "/signout": lambda api: ("/signout", {}),
}


@pytest.fixture
def board(db_url, make_client, tmp_path):
    from app.repobuilder.gitops import build_seed_repo

    with session_scope(db_url) as session:
        import_document(session, DOCUMENT.read_bytes(), who="test", source="progress.md")
    with session_scope(db_url) as session:  # the unpin form needs a pinned entry
        last = max(entry.id for entry in session.exec(select(MigrationEntry)))
        pin_entry(session, last, "kept by hand", "test")
    return make_client(repo=build_seed_repo(tmp_path / "seed"))


def audit(client) -> list:
    return client.get("/api/log").json()


def post(client, form: str, headers: dict | None = None, csrf: str | None = None):
    url, data = FORMS[form](client)
    if csrf is not None:
        data = {**data, "csrf_token": csrf}
    return client.post(url, data=data, headers=headers or {})


def sign_in(client, token: str) -> str:
    assert post_signin(client, {"token": token}).status_code == 303
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/blockers").text).group(1)


def test_every_form_write_is_in_the_matrix(board) -> None:
    forms = {
        route.path
        for included in board.app.routes
        for route in getattr(getattr(included, "original_router", None), "routes", [])
        if isinstance(route, APIRoute) and not route.path.startswith("/api") and set(route.methods) & set(WRITES)
    }
    assert forms - {"/signin"} == set(FORMS)


@pytest.mark.parametrize("form", FORMS)
def test_without_identity_refused_and_nothing_changes(board, form) -> None:
    before = audit(board)
    response = post(board, form)
    assert response.status_code == 401
    assert "Sign in" in response.text  # an HTML page that says what to do, not a JSON blob
    assert audit(board) == before


@pytest.mark.parametrize("form", FORMS)
def test_with_a_token_accepted(board, form, new_token) -> None:
    response = post(board, form, headers={"Authorization": f"Bearer {new_token('alice')}"})
    assert response.status_code == 303, response.text[:300]
    if form != "/signout":
        assert form == "/scan" or audit(board)[0]["who"] == "alice"


@pytest.mark.parametrize("form", FORMS)
def test_with_a_revoked_token_refused(board, form, new_token, revoke) -> None:
    token = new_token("alice")
    revoke("alice")
    assert post(board, form, headers={"Authorization": f"Bearer {token}"}).status_code == 401


@pytest.mark.parametrize("form", FORMS)
def test_signed_in_without_csrf_refused_with_it_accepted(board, form, new_token) -> None:
    csrf = sign_in(board, new_token("bob"))
    before = audit(board)
    assert post(board, form).status_code == 403
    assert post(board, form, csrf="forged").status_code == 403
    assert audit(board) == before
    assert post(board, form, csrf=csrf).status_code == 303


@pytest.mark.parametrize("form", FORMS)
def test_proxy_header_from_an_untrusted_address_ignored(make_client, db_url, form, tmp_path) -> None:
    with session_scope(db_url) as session:
        import_document(session, DOCUMENT.read_bytes(), who="test", source="progress.md")
    client = make_client(client=("192.168.1.9", 1), trust_proxy_header=True, trusted_proxies=["10.0.0.0/24"])
    assert post(client, form, headers={"Remote-User": "mallory"}).status_code == 401


def test_the_form_resolver_is_the_identity_not_a_field(board, new_token) -> None:
    blocker = open_blocker(board)
    response = board.post(
        f"/blockers/{blocker['id']}/resolve",
        data={"version": str(blocker["version"]), "note": "done", "who": "mallory", "resolved_by": "mallory"},
        headers={"Authorization": f"Bearer {new_token('alice')}"},
    )
    assert response.status_code == 303
    resolved = next(b for b in board.get("/api/blockers").json()["resolved"] if b["id"] == blocker["id"])
    assert resolved["resolved_by"] == "alice"
