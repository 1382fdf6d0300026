"""The one JSON error shape every 4xx under /api has, pinned."""

from __future__ import annotations

import time

import pytest

from app.store.db import session_scope
from tests.signin import post_signin


def shape(response) -> dict:
    body = response.json()
    assert list(body) == ["error"]
    assert list(body["error"]) == ["status", "message", "field"]
    assert body["error"]["status"] == response.status_code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status", "field"),
    [
        ("get", "/api/nowhere", {}, 404, None),
        ("get", "/api/modules/no/such/module", {}, 404, None),
        ("get", "/api/modules", {"params": {"status": "sideways"}}, 422, "status"),
        ("get", "/api/scans/0", {}, 422, "job_id"),
        ("get", "/api/scans/99999999999999999999999", {}, 422, "job_id"),
        ("get", "/api/scans/12", {}, 404, None),
        ("get", "/api/scans/2147483647", {}, 404, None),  # PostgreSQL's integers are 32-bit ...
        ("get", "/api/scans/2147483648", {}, 422, "job_id"),  # ... a larger id never reaches the database
        ("post", "/api/scans", {}, 401, None),
        ("delete", "/api/status", {}, 405, None),
    ],
)
def test_error_shape(client, method, url, kwargs, status, field) -> None:
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code == status
    assert shape(response)["field"] == field


def test_a_version_past_the_stores_integers_is_a_422(client, new_token) -> None:
    """A write stores version + 1: past 2**31 - 2 that would overflow PostgreSQL's integer."""
    token = {"Authorization": f"Bearer {new_token('alice')}"}
    for version, status in ((2**31 - 2, 404), (2**31 - 1, 422)):
        response = client.post("/api/blockers/1/resolve", json={"version": version, "note": "x"}, headers=token)
        assert response.status_code == status
        assert shape(response)["field"] == (None if status == 404 else "version")


def test_text_holding_a_nul_is_a_422_and_finds_nothing(client, new_token) -> None:
    """PostgreSQL's text cannot hold NUL: it is refused as input and matches no row, on every database."""
    token = {"Authorization": f"Bearer {new_token('alice')}"}
    refused = client.post("/api/backlog", json={"category": "Tools", "title": "a\x00b"}, headers=token)
    assert refused.status_code == 422 and shape(refused)["field"] == "title"
    assert client.get("/api/log", params={"target": "backlog:\x001"}).json() == []


def test_a_broken_json_body_is_a_422_with_the_shape(make_client, tmp_path, new_token) -> None:
    client = make_client(repo=tmp_path)
    headers = {"Authorization": f"Bearer {new_token()}", "Content-Type": "application/json"}
    response = client.post("/api/scans", content=b"{not json", headers=headers)
    assert response.status_code == 422
    assert shape(response) == {"status": 422, "field": None,  # not the character where it broke
                               "message": "the body is not valid JSON: Expecting property name enclosed in double quotes at character 1"}  # fmt: skip
    cut_short = client.post("/api/backlog", content=b'{"category": "CI", "title": ', headers=headers)
    assert cut_short.status_code == 422 and shape(cut_short)["field"] is None
    assert shape(cut_short)["message"] == "the body is not valid JSON: Expecting value at character 28"
    bad_ref = client.post("/api/scans", json={"ref": "--upload-pack=evil"}, headers=headers)
    assert bad_ref.status_code == 422 and shape(bad_ref)["field"] == "ref"


def test_no_repository_configured_is_a_422(client, new_token) -> None:
    response = client.post("/api/scans", headers={"Authorization": f"Bearer {new_token()}"})
    assert response.status_code == 422
    assert "no repository" in shape(response)["message"]


def test_a_failed_scan_is_reported_on_the_job(make_client, tmp_path, new_token) -> None:
    with make_client(repo=str(tmp_path / "not-a-repo"), fetch_interval=0) as client:  # the lifespan runs the worker
        response = client.post("/api/scans", headers={"Authorization": f"Bearer {new_token()}"})
        assert response.status_code == 202
        deadline = time.monotonic() + 20
        while (job := client.get(f"/api/scans/{response.json()['id']}").json())["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(0.05)
    assert job["state"] == "failed" and "not-a-repo does not exist" in job["error"]


def test_every_refusal_has_the_shape(make_client, db_url, new_token) -> None:
    """401, 403, 405, 409 and 429 come from different places (auth, Starlette, the store, the limiter)."""
    from app.store.progress_doc import import_document

    from .test_api_progress import DOCUMENT

    with session_scope(db_url) as session:
        import_document(session, DOCUMENT.read_bytes(), who="test")
    client = make_client()
    token = {"Authorization": f"Bearer {new_token('alice')}"}
    blocker = client.get("/api/blockers").json()["open"][0]
    stale = {"version": blocker["version"], "note": "done"}
    assert client.post(f"/api/blockers/{blocker['id']}/resolve", json=stale, headers=token).status_code == 200
    conflict = client.post(f"/api/blockers/{blocker['id']}/resolve", json=stale, headers=token)
    assert conflict.status_code == 409 and "alice" in shape(conflict)["message"]
    assert shape(client.post("/api/backlog", json={"category": "X", "title": "Y"}))["status"] == 401
    assert shape(client.put("/api/modules"))["status"] == 405
    assert "allow" in client.put("/api/modules").headers

    assert post_signin(client, {"token": new_token("bob")}).status_code == 303
    refused = client.post("/api/backlog", json={"category": "X", "title": "Y"})
    assert refused.status_code == 403 and "CSRF" in shape(refused)["message"]

    client.cookies.clear()
    for _ in range(5):
        post_signin(client, {"token": "wrong"})
    slowed = post_signin(client, {"token": "wrong"}, headers={"Accept": "application/json"})
    assert slowed.status_code == 429 and int(slowed.headers["retry-after"]) >= 1
    assert "try again" in shape(slowed)["message"]


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_a_write_that_lost_its_race_to_a_locked_store_is_a_503_not_a_500(client, accept) -> None:
    """Past the store's patience (SQLite still locked, a row gone under an ORM update) a write is
    told to try again: 503 with Retry-After, in the format asked for, nothing of a traceback."""
    import sqlite3

    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm.exc import StaleDataError

    failures = {
        "locked": OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked")),
        "stale": StaleDataError("UPDATE statement on table 'backlog_item' expected to update 1 row(s); 0 were matched."),
        "other": OperationalError("SELECT ...", {}, sqlite3.OperationalError("no such table: x")),
    }

    def fail(kind: str):
        raise failures[kind]

    client.app.add_api_route("/raced/{kind}", fail, methods=["POST"])
    for kind in ("locked", "stale"):
        response = client.post(f"/raced/{kind}", headers={"Accept": accept})
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert "busy with other writes" in response.text and "Traceback" not in response.text
        assert accept == "application/json" or "<title>Busy · Sawmill</title>" in response.text
    assert client.post("/raced/other", headers={"Accept": accept}).status_code == 500  # a real fault stays one
