"""First sign-in without a shell: SAWMILL_ADMIN_TOKEN(_FILE) is the token named ``admin``;
``sawmill token list`` shows names, creation and last use, never a token."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from app.config import Settings
from tests.signin import post_signin

ADMIN = "an-admin-token-from-a-mounted-secret-0123456789"


def test_the_admin_token_from_a_file_signs_in_and_writes_as_admin(make_client, db_url, tmp_path) -> None:
    from app.store.db import session_scope
    from app.store.progress_doc import import_document

    from .test_api_progress import DOCUMENT

    with session_scope(db_url) as session:
        import_document(session, DOCUMENT.read_bytes(), who="test")
    secret = tmp_path / "admin-token"
    secret.write_text(ADMIN + "\n")
    client = make_client(admin_token_file=secret)
    assert post_signin(client, {"token": ADMIN}).status_code == 303
    item = {"category": "Testing Improvements", "title": "Flaky test report"}
    response = client.post("/api/backlog", json=item, headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 201, response.text
    assert client.get("/api/log").json()[0]["who"] == "admin"
    assert client.post("/api/backlog", json=item, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_a_changed_secret_replaces_the_old_admin_token(make_client) -> None:
    make_client(admin_token=ADMIN)
    client = make_client(admin_token=ADMIN[::-1])
    assert post_signin(client, {"token": ADMIN}).status_code == 401
    assert post_signin(client, {"token": ADMIN[::-1]}).status_code == 303


def test_a_short_admin_token_or_an_unreadable_file_stops_start_up(tmp_path) -> None:
    with pytest.raises(ValidationError, match="at least 24 characters"):
        Settings(admin_token="short")
    with pytest.raises(ValidationError, match="SAWMILL_ADMIN_TOKEN_FILE: cannot read"):
        Settings(admin_token_file=tmp_path / "nope")


def test_token_list_shows_names_creation_and_last_use_never_the_token(sawmill, make_client) -> None:
    assert "no active tokens" in sawmill("token", "list").stderr
    made = sawmill("token", "create", "ci-bot").stdout.strip()
    client = make_client(admin_token=ADMIN)
    listed = sawmill("token", "list")
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["ci-bot", "admin"]
    assert "last used never" in listed.stdout and made not in listed.stdout and ADMIN not in listed.stdout
    assert client.get("/api/blockers", headers={"Authorization": f"Bearer {made}"}).status_code == 200
    rows = {r["name"]: r for r in map(json.loads, sawmill("token", "list", "--json").stdout.splitlines())}
    assert rows["ci-bot"]["last_used_at"] is not None and rows["admin"]["last_used_at"] is None
    assert set(rows["ci-bot"]) == {"name", "created_at", "last_used_at"}
