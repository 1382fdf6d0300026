"""Who may change things: the auth matrix over real writes, sign-in, CSRF, the proxy header."""

from __future__ import annotations

from app.services.worker import Worker

import re

import pytest

from app.store.db import session_scope
from app.store.tokens import ApiToken, hash_token
from sqlmodel import select
from tests.signin import post_signin

SCAN = "/api/scans"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_in(client, token: str) -> str:
    """Sign in through the form; returns the CSRF token the pages would embed."""
    response = post_signin(client, {"token": token, "next": "/"})
    assert response.status_code == 303
    page = client.get("/signin").text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture
def seed_client(make_client, tmp_path):
    from app.repobuilder.gitops import build_seed_repo

    return make_client(repo=build_seed_repo(tmp_path / "seed"))


def test_write_without_identity_is_refused(seed_client) -> None:
    response = seed_client.post(SCAN)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["status"] == 401


def test_write_with_a_token_is_accepted_and_recorded_as_that_identity(seed_client, new_token) -> None:
    response = seed_client.post(SCAN, headers=bearer(new_token("alice")))
    assert response.status_code == 202
    assert Worker(seed_client.app.state.settings).run_one()  # what the server's worker thread does next
    job = seed_client.get(f"{SCAN}/{response.json()['id']}").json()
    assert job["requested_by"] == "alice"
    assert job["state"] == "done" and job["scan_id"] is not None
    assert seed_client.get("/api/status").json()["summary"]["total"] == 18


def test_a_wrong_or_revoked_token_is_refused(seed_client, new_token, revoke) -> None:
    token = new_token("alice")
    assert seed_client.post(SCAN, headers=bearer(token + "x")).status_code == 401
    revoke("alice")
    assert seed_client.post(SCAN, headers=bearer(token)).status_code == 401


def test_tokens_are_stored_only_as_hashes(db_url, new_token) -> None:
    token = new_token("alice")
    with session_scope(db_url) as session:
        row = session.exec(select(ApiToken)).one()
    assert row.token_hash == hash_token(token) and token not in row.token_hash


def test_session_write_needs_the_csrf_token(seed_client, new_token) -> None:
    csrf = sign_in(seed_client, new_token("bob"))
    refused = seed_client.post(SCAN)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    assert seed_client.post(SCAN, headers={"X-CSRF-Token": "forged"}).status_code == 403
    accepted = seed_client.post(SCAN, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 202 and accepted.json()["requested_by"] == "bob"


def test_csrf_in_a_form_field(client, new_token) -> None:
    csrf = sign_in(client, new_token("bob"))
    assert client.post("/signout", data={}).status_code == 403
    assert client.post("/signout", data={"csrf_token": csrf}).status_code == 303


def test_revoking_a_token_ends_its_sessions(seed_client, new_token, revoke) -> None:
    csrf = sign_in(seed_client, new_token("bob"))
    revoke("bob")
    assert seed_client.post(SCAN, headers={"X-CSRF-Token": csrf}).status_code == 401


def test_a_forged_cookie_is_ignored(seed_client, new_token) -> None:
    sign_in(seed_client, new_token("bob"))
    cookie = seed_client.cookies["sawmill_session"]
    body, _, mac = cookie.partition(".")
    seed_client.cookies.set("sawmill_session", body + "." + mac[:-2] + ("AA" if mac[-2:] != "AA" else "BB"))
    assert seed_client.post(SCAN, headers={"X-CSRF-Token": "x"}).status_code == 401


def test_wrong_sign_in_says_nothing_about_which_part(client, new_token) -> None:
    token = new_token("alice")
    wrong_secret = post_signin(client, {"token": token[:-4] + "abcd"})
    wrong_name = post_signin(client, {"token": "sawmill_nobody"})
    assert wrong_secret.status_code == wrong_name.status_code == 401
    message = "That token was not accepted."
    assert message in wrong_secret.text and message in wrong_name.text
    assert "sawmill_session" not in client.cookies


def test_a_paste_longer_than_any_token_gets_the_form_back_saying_so(client, new_token) -> None:
    pasted = "$ sawmill token create alice\n" + new_token("alice") + "\n" + "x" * 600
    answer = post_signin(client, {"token": pasted})
    assert answer.status_code == 401 and "<h1>Sign in</h1>" in answer.text
    assert re.search(r'<small id="token-error">That is [\d,]+ characters; a token is at most 512\. Paste the token alone\.</small>',
                     answer.text)  # fmt: skip
    assert "sawmill_session" not in client.cookies


def test_repeated_failures_from_one_address_are_slowed_down(make_client, new_token) -> None:
    token = new_token("alice")
    client = make_client(client=("10.1.2.3", 4000))
    for _ in range(5):
        assert post_signin(client, {"token": "wrong"}).status_code == 401
    slowed = post_signin(client, {"token": token})  # even the right one waits its turn
    assert slowed.status_code == 429
    assert int(slowed.headers["retry-after"]) >= 1
    assert "<title>Too many requests · Sawmill</title>" in slowed.text and "too many failed sign-ins" in slowed.text
    other = make_client(client=("10.9.9.9", 4000))
    other.app.state.auth = client.app.state.auth  # same server, another address: not slowed
    assert post_signin(other, {"token": token}).status_code == 303


def test_sign_in_redirects_only_to_local_paths(client, new_token) -> None:
    token = new_token("alice")
    for target, expected in (("/blockers", "/blockers"), ("//evil.example/", "/"), ("https://evil.example", "/")):
        client.cookies.clear()
        response = post_signin(client, {"token": token, "next": target})
        assert response.headers["location"] == expected


def test_proxy_header_from_a_trusted_address(make_client) -> None:
    client = make_client(client=("10.0.0.5", 1), trust_proxy_header=True, trusted_proxies=["10.0.0.0/24"])
    page = client.get("/signin", headers={"Remote-User": "carol"}).text
    assert "carol" in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/signout", headers={"Remote-User": "carol"}).status_code == 403
    assert client.post("/signout", headers={"Remote-User": "carol", "X-CSRF-Token": csrf}).status_code == 303


@pytest.mark.parametrize(
    ("peer", "settings"),
    [
        (("192.168.1.9", 1), {"trust_proxy_header": True, "trusted_proxies": ["10.0.0.0/24"]}),
        (("10.0.0.5", 1), {"trust_proxy_header": False, "trusted_proxies": ["10.0.0.0/24"]}),
        (("10.0.0.5", 1), {"trust_proxy_header": True, "trusted_proxies": []}),
    ],
)
def test_proxy_header_is_ignored_unless_trusted(make_client, peer, settings) -> None:
    client = make_client(client=peer, **settings)
    assert client.post("/signout", headers={"Remote-User": "mallory", "X-CSRF-Token": "x"}).status_code == 401


def test_reads_are_open_by_default_and_can_require_sign_in(make_client, new_token) -> None:
    assert make_client().get("/api/status").status_code == 200
    closed = make_client(read_requires_signin=True)
    for url in ("/api/status", "/api/modules", "/badge/migration.svg", "/api/badge/migration"):
        assert closed.get(url).status_code == 401, url
    token = new_token("alice")
    response = closed.get("/api/status", headers=bearer(token))
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("private")


def test_pages_send_anonymous_visitors_to_sign_in_when_reads_need_it(make_client, new_token) -> None:
    closed = make_client(read_requires_signin=True)
    response = closed.get("/blockers")
    assert response.status_code == 303 and response.headers["location"] == "/signin?next=/blockers"
    assert closed.get("/signin").status_code == 200
    assert post_signin(closed, {"token": new_token(), "next": "/blockers"}).status_code == 303
    assert closed.get("/").status_code == 200
    assert make_client().get("/").status_code == 200


def test_every_page_sends_an_anonymous_visitor_to_sign_in_when_reads_need_it(make_client) -> None:
    """Every route outside the API, the probes, the sign-in and the assets: a GET answers 303 to
    /signin, and a form's POST 401, before anything else of the route runs (no 404, no 422)."""
    from starlette.routing import Route

    closed = make_client(read_requires_signin=True)
    open_paths = ("/api/", "/badge/", "/static/", "/signin", "/signout", "/healthz", "/readyz", "/docs", "/redoc", "/openapi")
    routes = [r for r in closed.app.router.routes if isinstance(r, Route)]
    for included in (r for r in closed.app.router.routes if not isinstance(r, Route)):
        routes += included.original_router.routes
    pages = [r for r in routes if not r.path.startswith(open_paths)]
    assert len(pages) >= 20
    for route in pages:
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in route.methods - {"HEAD"}:
            answer = closed.request(method, path)
            expected = 303 if method == "GET" else 401
            assert answer.status_code == expected, (method, route.path, answer.status_code)
            if method == "GET":
                assert answer.headers["location"].startswith("/signin?next=")


OPEN_TO_PROBES = ("/api/ping", "/healthz", "/readyz")


def test_every_documented_read_is_closed_when_reads_need_sign_in(scanned, make_client, new_token) -> None:
    closed = make_client(read_requires_signin=True)
    token = new_token("alice")
    reads = [path for path, ops in closed.get("/openapi.json").json()["paths"].items() if "get" in ops]
    for path in reads:
        url = path.replace("{path}", "apps/subsystems/media").replace("{job_id}", "1")
        expected = 200 if path in OPEN_TO_PROBES else 401  # liveness and readiness stay open for probes
        assert closed.get(url).status_code == expected, url
        assert closed.get(url, headers=bearer(token)).status_code != 401, url
