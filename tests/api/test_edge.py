"""The HTTP edge (app.web.edge) in process: body limits, identity before the body, security
headers, redirects that never echo the Host header, and forwarded headers only from trusted
proxies. The same limits against a real server, memory measured: tests/services/test_edge_live.py."""

from __future__ import annotations

import re

import pytest

from app.web.edge import csp_hash
from tests.signin import post_signin

from .test_api_progress import DOCUMENT

ITEM = {"category": "Testing Improvements", "title": "Flaky test report"}
HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "same-origin"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def chunks(total: int, size: int = 64 * 1024):
    """A body streamed without a Content-Length (chunked), as a client can always send one."""
    for _ in range(total // size):
        yield b"x" * size


@pytest.fixture
def board(db_url, make_client):
    from app.store.db import session_scope
    from app.store.progress_doc import import_document

    with session_scope(db_url) as session:
        import_document(session, DOCUMENT.read_bytes(), who="test", source="progress.md")
    return make_client()


# -- 5: bodies ---------------------------------------------------------------------


def test_an_anonymous_write_is_401_before_its_body_is_read_even_an_invalid_one(client) -> None:
    for body in (b"{not json", b"[" * 10_000, b'{"category": 3}'):
        response = client.post("/api/backlog", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 401, body[:20]
        assert response.json()["error"]["status"] == 401
    # the unread body is not drained: the connection ends with the answer
    assert response.headers["connection"] == "close"


def test_an_anonymous_form_is_401_before_validation(board) -> None:
    # a browser's small urlencoded post is read (the sign-in page carries it back), never validated
    response = board.post("/blockers/1/resolve", data={"version": "not a number", "note": ""})
    assert response.status_code == 401
    big = board.post("/blockers", content=b"title=" + b"x" * 70_000, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert big.status_code == 401 and big.headers["connection"] == "close"  # not read: the connection ends


def test_an_anonymous_multipart_upload_to_a_form_is_401_as_a_page(board) -> None:
    response = board.post("/backlog", files={"file": ("big.bin", b"x" * 100_000)}, data=ITEM)
    assert response.status_code == 401
    assert "Sign in" in response.text and response.headers["content-type"].startswith("text/html")


def test_a_declared_body_over_the_limit_is_413_in_the_error_shape(client, new_token) -> None:
    token = new_token()
    big = b"x" * (1024 * 1024 + 1)
    for url in ("/api/backlog", "/api/hooks/github", "/api/status"):
        response = client.post(url, content=big, headers={**bearer(token), "Content-Type": "application/json"})
        assert response.status_code == 413, url
        assert response.json()["error"] == {
            "status": 413, "message": "the request body is over the server's limit of 1,048,576 bytes", "field": None
        }  # fmt: skip
    for url in ("/backlog", "/signin"):
        page = client.post(url, content=big, headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert page.status_code == 413 and "Too large" in page.text, url


def test_a_streamed_body_is_cut_at_the_limit(client, new_token) -> None:
    response = client.post(
        "/api/backlog", content=chunks(3 * 1024 * 1024), headers={**bearer(new_token()), "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["status"] == 413


def test_the_limit_is_a_setting(make_client, new_token) -> None:
    client = make_client(max_body_bytes=2000)
    token = new_token()
    small = client.post("/api/backlog", json={**ITEM, "title": "a" * 100}, headers=bearer(token))
    assert small.status_code == 201
    large = client.post("/api/backlog", json={**ITEM, "title": "a" * 3000}, headers=bearer(token))
    assert large.status_code == 413 and "2,000 bytes" in large.json()["error"]["message"]


def test_a_signed_in_form_over_the_limit_is_413_not_a_csrf_refusal(board, new_token) -> None:
    post_signin(board, {"token": new_token("bob")})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', board.get("/blockers").text).group(1)
    files = {"file": ("big.bin", b"x" * (2 * 1024 * 1024))}
    response = board.post("/backlog", files=files, data={**ITEM, "csrf_token": csrf})
    assert response.status_code == 413 and "Too large" in response.text


# -- 8: security headers ----------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/backlog", "/api/status", "/static/app.css", "/no-such-page", "/signin"])
def test_every_answer_carries_the_security_headers(board, url) -> None:
    response = board.get(url)
    for name, value in HEADERS.items():
        assert response.headers[name] == value, (url, name)
    policy = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    assert policy["script-src"] == "'self'"  # no inline script anywhere on the pages
    assert "'unsafe-inline'" not in policy["style-src"] and "'unsafe-eval'" not in str(policy)
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"


def test_no_template_holds_an_inline_script_or_style_attribute() -> None:
    from app.web.render import TEMPLATES

    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path.name
        assert not re.search(r"\sstyle\s*=|\shx-on[:-]|\son[a-z]+\s*=", text), path.name


@pytest.mark.parametrize(("url", "asset"), [("/docs", "swagger-ui/swagger-ui-bundle.js"), ("/redoc", "redoc/redoc.standalone.js")])
def test_the_api_docs_load_their_scripts_from_static_only(client, url, asset) -> None:
    response = client.get(url)
    assert response.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert f"/static/vendor/{asset}" in sources
    assert all(source.startswith("/") and not source.startswith("//") for source in sources), sources
    policy = response.headers["content-security-policy"]
    for inline in re.findall(r"<script>(.*?)</script>", response.text, re.S):
        assert csp_hash(inline) in policy  # Swagger UI's start-up script, allowed by its hash alone
    assert client.get(f"/static/vendor/{asset}").status_code == 200


# -- 9: redirects ------------------------------------------------------------------


def test_redirects_never_echo_the_host_header(make_client, new_token) -> None:
    client = make_client()
    evil = {"Host": "evil.example"}
    slash = client.get("/backlog/", headers=evil)
    assert slash.status_code in (307, 308) and slash.headers["location"] == "/backlog"
    query = client.get("/blockers/?x=1", headers=evil)
    assert query.headers["location"] == "/blockers?x=1"
    assert post_signin(client, {"token": new_token(), "next": "/blockers"}, headers=evil).headers["location"] == "/blockers"
    closed = make_client(read_requires_signin=True)
    assert closed.get("/blockers", headers=evil).headers["location"] == "/signin?next=/blockers"


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("http://evil.example/backlog?page=2", "/backlog?page=2"),  # built from the Host header: made a path
        ("http://evil.example//evil.example/x", "/evil.example/x"),  # a path of "//host" would leave the site
        ("//evil.example/", "/evil.example/"),
        ("/\\evil.example", "/evil.example"),
        ("https://github.com/org/platform", "https://github.com/org/platform"),  # chosen by the app: kept
        ("/blockers", "/blockers"),
    ],
)
def test_a_location_is_never_the_clients_host_nor_protocol_relative(location, expected) -> None:
    from fastapi import Request

    from app.web.edge import _relative

    request = Request({"type": "http", "headers": [(b"host", b"evil.example")], "path": "/", "query_string": b""})
    assert _relative(request, location.encode()).decode() == expected


# -- 10: forwarded headers -------------------------------------------------------------


def test_https_from_a_trusted_proxy_makes_the_cookie_secure(make_client, new_token) -> None:
    token = new_token()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    behind = make_client(client=("10.0.0.5", 1), trusted_proxies=["10.0.0.0/24"])
    cookie = post_signin(behind, {"token": token}, headers=forwarded).headers["set-cookie"]
    assert "sawmill_session=" in cookie and "Secure" in cookie
    untrusted = make_client(client=("192.168.1.9", 1), trusted_proxies=["10.0.0.0/24"])
    cookie = post_signin(untrusted, {"token": token}, headers=forwarded).headers["set-cookie"]
    assert "sawmill_session=" in cookie and "Secure" not in cookie
    default = make_client(client=("10.0.0.5", 1))  # no trusted proxies: nobody's forwarded headers
    assert "Secure" not in post_signin(default, {"token": token}, headers=forwarded).headers["set-cookie"]


def test_sign_in_failures_count_per_forwarded_client_behind_a_trusted_proxy(make_client, new_token) -> None:
    token = new_token()
    proxy = make_client(client=("10.0.0.5", 1), trusted_proxies=["10.0.0.0/24"])
    for _ in range(5):
        post_signin(proxy, {"token": "wrong"}, headers={"X-Forwarded-For": "203.0.113.7"})
    assert post_signin(proxy, {"token": token}, headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 429
    # another user behind the same ingress is not slowed by the first one's failures
    assert post_signin(proxy, {"token": token}, headers={"X-Forwarded-For": "203.0.113.8"}).status_code == 303


def test_remote_user_is_believed_from_the_proxy_even_when_it_names_the_client(make_client) -> None:
    client = make_client(client=("10.0.0.5", 1), trust_proxy_header=True, trusted_proxies=["10.0.0.0/24"])
    page = client.get("/signin", headers={"Remote-User": "carol", "X-Forwarded-For": "203.0.113.7"}).text
    assert "Signed in as <strong>carol</strong>" in page
    spoofed = make_client(client=("192.168.1.9", 1), trust_proxy_header=True, trusted_proxies=["10.0.0.0/24"])
    page = spoofed.get("/signin", headers={"Remote-User": "mallory", "X-Forwarded-For": "10.0.0.5"}).text
    assert "mallory" not in page


@pytest.mark.parametrize("url", ["/", "/api/status", "/healthz", "/badge/migration.svg", "/signin"])
def test_head_is_answered_as_get_without_a_body(board, url) -> None:
    got, head = board.get(url), board.head(url)
    assert head.status_code == got.status_code == 200
    assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["x-content-type-options"] == "nosniff"


def test_head_at_a_write_only_address_is_still_405(board) -> None:
    assert board.head("/api/scans").status_code == 405  # HEAD is GET's, never POST's
