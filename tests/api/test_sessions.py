"""Sessions end on the server: sign-in needs the form's own CSRF token, sign-out kills the old
cookie everywhere, a cookie's age is judged by the server (never an ``iat`` in the future), and a
proxy user's CSRF token changes with time."""

from __future__ import annotations

import re
import time

from app.store.db import session_scope
from app.store.tokens import list_tokens
from tests.signin import post_signin

SCAN = "/api/scans"


def csrf_of(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/blockers").text).group(1)


def signin_token(client) -> str:
    return re.search(r'name="signin_csrf" value="([^"]+)"', client.get("/signin").text).group(1)


def signed_in(client) -> bool:
    return "sign out" in client.get("/blockers").text


# -- login CSRF ----------------------------------------------------------------------


def test_sign_in_without_the_forms_token_is_refused(client, new_token) -> None:
    token = new_token("mallory")
    refused = client.post("/signin", data={"token": token})
    assert refused.status_code == 403
    assert "sawmill_session" not in refused.headers.get("set-cookie", "")
    assert "expired" in refused.text and 'name="signin_csrf"' in refused.text  # a fresh form to try again
    assert not signed_in(client)


def test_a_mangled_forms_token_of_any_length_gets_the_form_back(client, new_token) -> None:
    token = new_token("mallory")
    form = signin_token(client)
    for sent in (form[:-1], form + "x" * 300):  # cut short, or something long pasted onto it
        refused = client.post("/signin", data={"token": token, "signin_csrf": sent})
        assert refused.status_code == 403 and "expired" in refused.text and 'name="signin_csrf"' in refused.text
    assert not signed_in(client)


def test_a_cross_site_sign_in_is_refused_even_with_a_token_pair(client, new_token) -> None:
    token = new_token("mallory")
    form = signin_token(client)
    cross = client.post("/signin", data={"token": token, "signin_csrf": form}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403 and not signed_in(client)
    same = client.post("/signin", data={"token": token, "signin_csrf": form}, headers={"Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 303 and signed_in(client)


def test_the_forms_token_is_bound_to_its_own_cookie(make_client, new_token) -> None:
    token = new_token("mallory")
    attacker, victim = make_client(), make_client()
    stolen = signin_token(attacker)  # the attacker's own page: a valid token, but for the attacker's cookie
    victim.get("/signin")
    assert victim.post("/signin", data={"token": token, "signin_csrf": stolen}).status_code == 403
    assert not signed_in(victim)


# -- sign-out ends the session on the server ------------------------------------------------


def test_sign_out_ends_the_session_for_the_old_cookie_too(client, new_token) -> None:
    post_signin(client, {"token": new_token("bob")})
    csrf, cookie = csrf_of(client), client.cookies["sawmill_session"]
    assert client.post(SCAN, headers={"X-CSRF-Token": csrf}).status_code != 401
    assert client.post("/signout", data={"csrf_token": csrf}).status_code == 303
    client.cookies.set("sawmill_session", cookie)  # kept by an attacker, or a stale tab (sign-out deleted the other)
    assert client.post(SCAN, headers={"X-CSRF-Token": csrf}).status_code == 401
    assert not signed_in(client)


def test_sign_out_ends_only_that_session(make_client, new_token) -> None:
    token = new_token("bob")
    laptop, phone = make_client(), make_client()
    post_signin(laptop, {"token": token})
    post_signin(phone, {"token": token})
    laptop.post("/signout", data={"csrf_token": csrf_of(laptop)})
    assert not signed_in(laptop) and signed_in(phone)


def test_sessions_are_not_listed_as_tokens(client, new_token, db_url) -> None:
    post_signin(client, {"token": new_token("bob")})
    with session_scope(db_url) as session:
        assert [t.name for t in list_tokens(session)] == ["bob"]


def test_a_session_key_is_not_a_bearer_token(client, new_token) -> None:
    post_signin(client, {"token": new_token("bob")})
    auth = client.app.state.auth
    key = auth.unsign(client.cookies["sawmill_session"])["k"]
    client.cookies.clear()
    assert client.post(SCAN, headers={"Authorization": f"Bearer {key}"}).status_code == 401


# -- the server judges a cookie's age -------------------------------------------------------


def forge(client, real: str, **changes) -> None:
    """Put the real cookie back re-signed with the server's key and ``changes`` (what a reader
    of the store's secret could make): only the server-side checks stand in the way."""
    auth = client.app.state.auth
    client.cookies.delete("sawmill_session")
    client.cookies.set("sawmill_session", auth.sign({**auth.unsign(real), **changes}))


def test_a_cookie_issued_in_the_future_is_refused(client, new_token) -> None:
    post_signin(client, {"token": new_token("bob")})
    csrf, real = csrf_of(client), client.cookies["sawmill_session"]
    forge(client, real, iat=int(time.time()) + 10 * 365 * 86400)
    assert client.post(SCAN, headers={"X-CSRF-Token": csrf}).status_code == 401
    forge(client, real, iat=int(time.time()) + 3600)
    assert not signed_in(client)
    forge(client, real, iat=int(time.time()) + 5)  # a replica's clock a little ahead is fine
    assert signed_in(client)


def test_a_cookie_older_than_the_max_age_is_refused(make_client, new_token) -> None:
    client = make_client(session_max_age=3600)
    post_signin(client, {"token": new_token("bob")})
    real = client.cookies["sawmill_session"]
    forge(client, real, iat=int(time.time()) - 3500)
    assert signed_in(client)
    forge(client, real, iat=int(time.time()) - 3700)
    assert not signed_in(client)
    forge(client, real, iat="0")
    assert not signed_in(client)


# -- a proxy user's CSRF token rotates -------------------------------------------------------


def test_a_proxy_users_csrf_token_changes_with_the_time_window(make_client) -> None:
    client = make_client(client=("10.0.0.5", 1), trust_proxy_header=True, trusted_proxies=["10.0.0.0/24"])
    auth, user = client.app.state.auth, {"Remote-User": "carol"}
    now, last, older = (auth.proxy_csrf("carol", windows_ago=n) for n in (0, 1, 2))
    assert len({now, last, older}) == 3
    assert now in client.get("/blockers", headers=user).text
    assert client.post("/signout", headers={**user, "X-CSRF-Token": older}).status_code == 403
    assert client.post("/signout", headers={**user, "X-CSRF-Token": last}).status_code == 303  # a page from just before
    assert client.post("/signout", headers={**user, "X-CSRF-Token": now}).status_code == 303
    assert auth.proxy_csrf("dave") != now


def test_a_proxys_basic_credentials_leave_the_session_cookie_its_say(client, new_token) -> None:
    """Behind a proxy asking for Basic auth, the browser sends those credentials on every request."""
    basic = {"Authorization": "Basic dXNlcjpwYXNz"}
    client.headers.update(basic)
    assert post_signin(client, {"token": new_token("nina")}).status_code == 303
    assert signed_in(client)
    wrong_bearer = client.post(SCAN, headers={"Authorization": "Bearer not-a-token"})
    assert wrong_bearer.status_code == 401  # a bearer that is wrong never falls back to the cookie


def test_a_referer_or_htmx_address_that_is_no_address_is_ignored_not_a_500(client) -> None:
    broken = "http://["
    assert client.post("/", headers={"Referer": broken}).status_code == 405
    assert client.post("/signin", data={"token": "x"}, headers={"Referer": broken}).status_code == 403
    flash = client.get("/nowhere", headers={"HX-Request": "true", "HX-Current-URL": broken})
    assert flash.status_code == 404 and flash.headers["HX-Retarget"] == "#flash"
