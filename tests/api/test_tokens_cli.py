"""``sawmill token create/revoke``, and the settings that guard sign-in."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlmodel import select

from app.config import Settings
from app.store.db import session_scope
from app.store.tokens import ApiToken, hash_token, session_secret


def test_create_prints_the_token_once_and_stores_its_hash(sawmill, db_url, client) -> None:
    result = sawmill("token", "create", "ci-bot")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("sawmill_") and len(token) > 40
    with session_scope(db_url) as session:
        row = session.exec(select(ApiToken)).one()
    assert row.token_hash == hash_token(token)
    response = client.post("/api/scans", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422  # past the identity check: only the missing repository stops it


def test_create_twice_and_revoke_unknown_are_one_line_errors(sawmill) -> None:
    assert sawmill("token", "create", "ci-bot").exit_code == 0
    again = sawmill("token", "create", "ci-bot")
    assert again.exit_code == 1 and again.stderr.strip() == "error: a token named 'ci-bot' already exists; revoke it first"
    missing = sawmill("token", "revoke", "nobody")
    assert missing.exit_code == 1 and missing.stderr.strip() == "error: no active token named 'nobody'"
    bad = sawmill("token", "create", "-x y")
    assert bad.exit_code != 0 and "Traceback" not in bad.output


def test_revoke_then_create_again(sawmill, client) -> None:
    old = sawmill("token", "create", "ci-bot").stdout.strip()
    assert sawmill("token", "revoke", "ci-bot").exit_code == 0
    new = sawmill("token", "create", "ci-bot").stdout.strip()
    assert new != old
    assert client.post("/api/scans", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert client.post("/api/scans", headers={"Authorization": f"Bearer {new}"}).status_code == 422


@pytest.mark.parametrize("secret", ["", "short", "a" * 40])
def test_an_unsafe_session_secret_is_refused_at_start_up(monkeypatch, secret) -> None:
    monkeypatch.setenv("SAWMILL_SESSION_SECRET", secret)
    with pytest.raises(ValidationError, match="SAWMILL_SESSION_SECRET"):
        Settings()


def test_without_a_secret_one_is_made_once_and_kept(db_url) -> None:
    with session_scope(db_url) as session:
        first = session_secret(session)
    with session_scope(db_url) as session:
        assert session_secret(session) == first
    assert len(first) >= 48


def test_trusted_proxies_parse_and_refuse_nonsense(monkeypatch) -> None:
    monkeypatch.setenv("SAWMILL_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")
    assert Settings().trusted_proxies == ["127.0.0.1", "10.0.0.0/8"]
    monkeypatch.setenv("SAWMILL_TRUSTED_PROXIES", "proxy.example")
    with pytest.raises(ValidationError, match="SAWMILL_TRUSTED_PROXIES"):
        Settings()


def test_help_names_the_argument_as_the_issue_does(sawmill) -> None:
    for command in ("create", "revoke"):
        assert "NAME" in sawmill("token", command, "--help").output
    bad = sawmill("token", "create", "bad name")
    assert bad.exit_code == 1 and bad.stderr.strip().startswith("error: a token name is")
