"""Who may change things: identities for writes, sign-in, CSRF.

How to use it (pages, forms and the API alike)::

    from app.web.auth import ReaderDep, WriterDep

    @router.post("/blockers/{id}/resolve")
    async def resolve(id: int, who: WriterDep, note: Annotated[str, Form()]):
        resolve_blocker(session, id, note=note, by=who.name)   # never a form field

    @router.get("/blockers")
    async def blockers(request: Request, viewer: ReaderDep): ...

- ``WriterDep`` gives an ``Identity`` or refuses the request: 401 with no
  identity, 403 when a cookie- or proxy-authenticated write lacks its CSRF
  token. Identities come from, in order: ``Authorization: Bearer <token>``
  (``sawmill token create NAME``), a trusted ``Remote-User`` header (only when
  ``SAWMILL_TRUST_PROXY_HEADER`` is on and the peer is in
  ``SAWMILL_TRUSTED_PROXIES``), the signed session cookie set by ``/signin``.
- ``ReaderDep`` gives an ``Identity`` or ``None``; with
  ``SAWMILL_READ_REQUIRES_SIGNIN`` on it refuses anonymous reads with 401.
  ``page_reader`` does the same for HTML pages with a 303 to /signin;
  every route of a router made by ``page_router()`` runs it first, so pages
  need not name it.
- Both raise ``NotSignedIn`` / ``CsrfRefused`` (``HTTPException`` subclasses);
  the app's error handler answers them as HTML (a page that links /signin)
  or JSON.
- Forms: with ``csrf_input``/``csrf_token`` as Jinja globals (app.web.render
  installs them), every form has ``{{ csrf_input(request) }}``. htmx: put
  ``hx-headers='{"X-CSRF-Token": "{{ csrf_token(request) }}"}'`` on <body>;
  the token travels as the ``X-CSRF-Token`` header.
- ``auth_router`` serves GET/POST ``/signin`` and POST ``/signout``; include
  it in ``create_app``. The sign-in form carries its own CSRF token (a secret
  in a ``/signin`` cookie, its MAC in the form): no other site can sign a
  visitor in. A sign-in is a row in the store (``app.store.tokens.open_session``)
  whose key the signed cookie carries; sign-out deletes it, so the old cookie
  is dead on every server. A cookie is also refused past
  ``SAWMILL_SESSION_MAX_AGE`` or with an ``iat`` in the future.

Tokens and sessions are checked against an in-memory copy of the active rows,
reloaded when the store changes, so a read that needs sign-in costs no query
and a revoked token stops working on the next request.
"""

from __future__ import annotations

import logging

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from ipaddress import ip_address, ip_network
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from markupsafe import Markup
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.config import Settings, get_settings
from app.store.db import session_scope
from app.store.tokens import (
    ActiveToken, active_tokens, end_session, hash_token, note_use, open_session, session_hash, session_open, session_secret,
)  # fmt: skip

log = logging.getLogger("sawmill.auth")
USE_NOTED = 300.0  # seconds between two notes of one token's use
from app.web.status_cache import Memo, watch_for

COOKIE = "sawmill_session"
SIGNIN_COOKIE = "sawmill_signin"  # the sign-in form's pre-session CSRF secret (double submit, signed)
SIGNIN_FORM_AGE = 2 * 3600  # seconds a sign-in page stays usable
MAX_TOKEN = 512  # characters: no API token is longer
PROXY_CSRF_WINDOW = 8 * 3600  # a proxy user's CSRF token changes every window; the last one still works
CLOCK_SKEW = 60  # seconds a cookie's "iat" may run ahead of this server (replicas' clocks differ a little)
CSRF_FIELD = "csrf_token"
PEER_KEY = "sawmill.peer"  # the scope key app.web.edge keeps the connecting address under
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Method = Literal["token", "session", "proxy"]


@dataclass(frozen=True)
class Identity:
    name: str
    method: Method  # how the request proved it: an API token, the session cookie, the SSO proxy
    csrf: str | None = None  # the token a browser form must echo; None for bearer tokens


class NotSignedIn(HTTPException):
    def __init__(self, message: str = "sign in first: a valid API token or session is needed") -> None:
        super().__init__(401, message, headers={"WWW-Authenticate": 'Bearer realm="sawmill"'})


class CsrfRefused(HTTPException):
    def __init__(self) -> None:
        super().__init__(403, "missing or invalid CSRF token; reload the page and try again")


class TooManyAttempts(HTTPException):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429, f"too many failed sign-ins; try again in {retry_after} s", headers={"Retry-After": str(retry_after)}
        )


class SigninLimiter:
    """Failed sign-ins per client address; after ``free`` failures each one doubles the wait."""

    def __init__(self, free: int = 5, window: float = 900.0, cap: float = 300.0, clock=time.monotonic) -> None:
        self.free, self.window, self.cap, self.clock = free, window, cap, clock
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait(self, address: str) -> int:
        """Seconds this address must still wait before trying again (0: go ahead)."""
        with self._lock:
            count, last = self._failures.get(address, (0, 0.0))
            now = self.clock()
            if now - last > self.window:
                self._failures.pop(address, None)
                return 0
            if count < self.free:
                return 0
            delay = min(self.cap, 2.0 ** (count - self.free))
            return max(0, int(last + delay - now + 0.999))

    def failed(self, address: str) -> None:
        with self._lock:
            count, last = self._failures.get(address, (0, 0.0))
            if self.clock() - last > self.window:
                count = 0
            self._failures[address] = (count + 1, self.clock())
            if len(self._failures) > 10_000:  # bound memory under a spray of addresses
                self._failures.pop(next(iter(self._failures)))

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)


class Auth:
    """The app's authentication state: settings, signing key, token cache, limiter."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.database_url
        self.proxies = [ip_network(p, strict=False) for p in settings.trusted_proxies]
        self.limiter = SigninLimiter()
        self._tokens = Memo(watch_for(self.url), self._load_tokens)
        self._noted: dict[int, float] = {}
        self._key: bytes | None = None

    def _load_tokens(self) -> tuple[dict[str, ActiveToken], set[int]]:
        with session_scope(self.url) as session:
            tokens = active_tokens(session)
        return tokens, {t.id for t in tokens.values()}

    @property
    def key(self) -> bytes:
        if self._key is None:
            if self.settings.session_secret is not None:
                secret = self.settings.session_secret.get_secret_value()
            else:
                with session_scope(self.url) as session:
                    secret = session_secret(session)
            self._key = hashlib.sha256(b"sawmill-session\0" + secret.encode()).digest()
        return self._key

    def token(self, token: str) -> ActiveToken | None:
        found = self._tokens.get()[0].get(hash_token(token))
        if found is not None:
            self._note_use(found.id)
        return found

    def _note_use(self, token_id: int) -> None:
        """Record a token's last use (``sawmill token list``), at most every USE_NOTED seconds
        per token and process: a bearer on every request must not mean a write on every request."""
        now = time.monotonic()
        if now - self._noted.get(token_id, -USE_NOTED) < USE_NOTED:
            return
        self._noted[token_id] = now
        try:
            with session_scope(self.url) as session:
                note_use(session, token_id)
        except Exception:  # a busy or read-only database must not turn a good token away
            log.warning("could not note the use of token %s", token_id, exc_info=True)

    def token_id_active(self, token_id: int) -> bool:
        return token_id in self._tokens.get()[1]

    # -- the session cookie: base64(json payload) "." base64(hmac) -------------

    def sign(self, payload: dict) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{_b64(self._mac(body))}"

    def unsign(self, cookie: str) -> dict | None:
        body, _, mac = cookie.partition(".")
        try:
            if not hmac.compare_digest(_unb64(mac), self._mac(body)):
                return None
            payload = json.loads(_unb64(body))
        except (ValueError, TypeError):
            return None
        if not isinstance(payload, dict) or not self._fresh(payload.get("iat")):
            return None
        return payload

    def _fresh(self, iat: object) -> bool:
        """Issued in the last ``session_max_age`` seconds, and not in the future: a cookie forged
        with a far-off ``iat`` would otherwise never expire."""
        if not isinstance(iat, int | float) or isinstance(iat, bool):
            return False
        age = time.time() - iat
        return -CLOCK_SKEW <= age <= self.settings.session_max_age

    def session_open(self, key: object) -> bool:
        """The sign-in ``key`` names is still open (sign-out deletes it, on every server)."""
        if not isinstance(key, str) or not key:
            return False
        if session_hash(key) in self._tokens.get()[0]:
            return True
        # Not in memory: opened on another replica a moment ago, or ended. Only a correctly
        # signed cookie gets this far, so the query cannot be had for free.
        with session_scope(self.url) as session:
            return session_open(session, key)

    def _mac(self, body: str) -> bytes:
        return hmac.new(self.key, body.encode(), hashlib.sha256).digest()

    def proxy_csrf(self, name: str, windows_ago: int = 0) -> str:
        """A proxy user has no session to hold a token: theirs is derived from the name and the
        current time window, so it changes every PROXY_CSRF_WINDOW seconds."""
        window = int(time.time() // PROXY_CSRF_WINDOW) - windows_ago
        return _b64(hmac.new(self.key, f"proxy-csrf\0{name}\0{window}".encode(), hashlib.sha256).digest())

    def csrf_matches(self, identity: Identity, sent: str) -> bool:
        expected = [identity.csrf or ""]
        if identity.method == "proxy":  # a page loaded just before the window turned still posts
            expected.append(self.proxy_csrf(identity.name, windows_ago=1))
        given = sent.encode("utf-8", "surrogatepass")
        return any(hmac.compare_digest(given, token.encode()) for token in expected if token)

    def signin_csrf(self, secret: str) -> str:
        return _b64(hmac.new(self.key, b"signin-csrf\0" + secret.encode(), hashlib.sha256).digest())

    def trusted_peer(self, request: Request) -> bool:
        # The address that connected: X-Forwarded-For may have replaced request.client (app.web.edge).
        client = request.scope.get(PEER_KEY) or request.client
        if not (self.settings.trust_proxy_header and self.proxies and client):
            return False
        try:
            peer = ip_address(client[0])
        except ValueError:
            return False
        return any(peer in network for network in self.proxies)


def install_auth(app, settings: Settings | None = None) -> Auth:
    """Attach the auth state to ``app`` (``create_app`` calls this once)."""
    app.state.auth = Auth(settings or getattr(app.state, "settings", None) or get_settings())
    return app.state.auth


def get_auth(request: Request) -> Auth:
    auth = getattr(request.app.state, "auth", None)
    return auth if auth is not None else install_auth(request.app)


def identify(request: Request) -> Identity | None:
    """The identity a request proves, or None; never raises for bad credentials."""
    if "sawmill_identity" in request.scope:
        return request.scope["sawmill_identity"]
    headers = request.headers
    if "authorization" not in headers and "cookie" not in headers and "remote-user" not in headers:
        request.scope["sawmill_identity"] = None  # the common anonymous read: nothing to check
        return None
    auth = get_auth(request)
    identity = _from_bearer(auth, request)
    if identity is None and auth.trusted_peer(request):
        name = request.headers.get("remote-user", "").strip()
        if name and len(name) <= 200:  # it lands in the audit log; a user name is never longer
            identity = Identity(name=name, method="proxy", csrf=auth.proxy_csrf(name))
    if identity is None and not _is_bearer(request):  # a proxy's Basic credentials leave the cookie its say
        identity = _from_cookie(auth, request)
    request.scope["sawmill_identity"] = identity
    return identity


def _is_bearer(request: Request) -> bool:
    """Whether the request names a bearer token (a wrong one must not fall back to the cookie)."""
    return request.headers.get("authorization", "").partition(" ")[0].lower() == "bearer"


def _from_bearer(auth: Auth, request: Request) -> Identity | None:
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    token = auth.token(credential.strip())
    return Identity(name=token.name, method="token") if token else None


def _from_cookie(auth: Auth, request: Request) -> Identity | None:
    cookie = request.cookies.get(COOKIE)
    payload = auth.unsign(cookie) if cookie else None
    if not payload or not auth.token_id_active(payload.get("tid", -1)):
        return None  # a revoked token ends the sessions it opened
    if not auth.session_open(payload.get("k")):
        return None  # signed out
    return Identity(name=str(payload["n"]), method="session", csrf=str(payload["c"]))


async def reader(request: Request) -> Identity | None:
    identity = identify(request)
    if identity is None and get_auth(request).settings.read_requires_signin:
        raise NotSignedIn()
    return identity


async def page_reader(request: Request) -> Identity | None:
    """``reader`` for HTML pages: an anonymous visitor is sent to /signin and back."""
    identity = identify(request)
    if identity is None and get_auth(request).settings.read_requires_signin:
        if request.method not in SAFE_METHODS:  # a form post: its 401 carries it through the sign-in (app.web.pending)
            raise NotSignedIn()
        raise HTTPException(303, "sign in first", headers={"Location": signin_url(request)})
    return identity


class PageRoute(APIRoute):
    """An HTML page's route: ``page_reader`` runs before anything else of it does (its
    parameters, its dependencies, a form's body), as a router dependency would, without
    FastAPI solving one more dependency on every request: a fifth of a page from memory."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handle = super().get_route_handler()

        async def checked(request: Request) -> Response:
            await page_reader(request)
            return await handle(request)

        return checked


def page_router() -> APIRouter:
    """A router of HTML pages: each route sends an anonymous visitor to /signin when reads need it."""
    return APIRouter(tags=["pages"], route_class=PageRoute)


# Declared so /docs shows the Bearer scheme and its "Authorize" button; the
# header itself is read by ``identify`` with the other ways in.
bearer_scheme = HTTPBearer(auto_error=False, description="a token from `sawmill token create NAME`")


async def writer(request: Request, _bearer: Annotated[object, Depends(bearer_scheme)] = None) -> Identity:
    identity = identify(request)
    if identity is None:
        raise NotSignedIn()
    if identity.method != "token" and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER) or await _form_csrf(request)
        if not sent or not get_auth(request).csrf_matches(identity, sent):
            raise CsrfRefused()
    return identity


async def _form_csrf(request: Request) -> str | None:
    kind = request.headers.get("content-type", "")
    if not kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return None
    try:
        value = (await request.form()).get(CSRF_FIELD)  # Starlette caches the parsed form for the route
    except StarletteHTTPException:  # too large (413): say so, not "missing CSRF token"
        raise
    except Exception:  # a malformed body: the route's own parsing reports it
        return None
    return value if isinstance(value, str) else None


ReaderDep = Annotated[Identity | None, Depends(reader)]
WriterDep = Annotated[Identity, Depends(writer)]


# -- template helpers -----------------------------------------------------------


def csrf_token(request: Request) -> str:
    identity = identify(request)
    return identity.csrf or "" if identity else ""


def csrf_input(request: Request) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, csrf_token(request))


def current_identity(request: Request) -> Identity | None:
    return identify(request)


# -- /signin and /signout -------------------------------------------------------

auth_router = APIRouter(tags=["sign-in"])


def _page(request: Request, context: dict, status_code: int = 200) -> Response:
    from app.web.render import render  # render imports this module for its template helpers

    return render(request, "signin.html", context, status_code=status_code)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect would make the sign-in page a phishing aid.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@auth_router.get("/signin", response_class=HTMLResponse, include_in_schema=False)
async def signin_page(request: Request, next: str | None = None) -> Response:
    return _signin_form(request, {"next": _safe_next(next), "error": None, "identity": identify(request)})


def _signin_form(request: Request, context: dict, status_code: int = 200) -> Response:
    """The sign-in page with its pre-session CSRF token: a secret in a cookie only this site
    can set, and its MAC in the form, so a page elsewhere cannot sign a visitor in as someone."""
    auth = get_auth(request)
    secret = request.cookies.get(SIGNIN_COOKIE) or ""
    if not 20 <= len(secret) <= 64:
        secret = secrets.token_urlsafe(24)
    response = _page(request, {**context, "signin_csrf": auth.signin_csrf(secret)}, status_code=status_code)
    response.set_cookie(
        SIGNIN_COOKIE, secret, max_age=SIGNIN_FORM_AGE, path="/signin", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


def _signin_forged(request: Request, sent: str) -> bool:
    if request.headers.get("sec-fetch-site") == "cross-site":  # the browser says another site sent it
        return True
    secret = request.cookies.get(SIGNIN_COOKIE)
    expected = get_auth(request).signin_csrf(secret) if secret else ""
    return not (sent and expected and len(sent) == len(expected) and hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), expected.encode()))


@auth_router.post("/signin", response_class=HTMLResponse, include_in_schema=False)
async def signin(
    request: Request,
    token: Annotated[str, Form()] = "",  # its length is checked below: a long paste gets the form back
    next: Annotated[str, Form()] = "/",
    signin_csrf: Annotated[str, Form()] = "",  # a mangled one (any length) gets the form back, as a stale one does
) -> Response:
    from app.web.pending import form_again, from_signin  # it imports this module

    auth = get_auth(request)
    pending = await from_signin(request)  # a form sent before signing in, carried through
    if _signin_forged(request, signin_csrf):
        # An old tab or a cross-site post: nothing is tried, the form comes back ready to use.
        context = {"next": _safe_next(next), "error": "The sign-in form had expired; paste the token again.", "identity": None,
                   "pending": pending}  # fmt: skip
        return _signin_form(request, context, status_code=403)
    address = request.client.host if request.client else "unknown"
    if wait := auth.limiter.wait(address):
        raise TooManyAttempts(wait)
    token = token.strip()
    found = auth.token(token) if token and len(token) <= MAX_TOKEN else None
    if found is None:
        auth.limiter.failed(address)
        # One message whatever was wrong: no hint whether the name or the secret part missed.
        error = "That token was not accepted."
        if len(token) > MAX_TOKEN:  # no token is this long: likely more than the token was pasted
            error = f"That is {len(token):,} characters; a token is at most {MAX_TOKEN}. Paste the token alone."
        context = {"next": _safe_next(next), "error": error, "identity": None, "pending": pending}
        return _signin_form(request, context, status_code=401)
    auth.limiter.succeeded(address)
    with session_scope(auth.url) as session:
        key = open_session(session, found.name, auth.settings.session_max_age)
    payload = {"tid": found.id, "n": found.name, "k": key, "c": secrets.token_urlsafe(24), "iat": int(time.time())}
    # A form sent before signing in comes back filled, to send again with this session's CSRF token.
    again = form_again(request, Identity(found.name, "session", payload["c"]), pending) if pending else None
    response = again or RedirectResponse(_safe_next(next), status_code=303)
    secure = request.url.scheme == "https"
    response.set_cookie(
        COOKIE, auth.sign(payload), max_age=auth.settings.session_max_age, httponly=True, samesite="lax", secure=secure
    )
    response.delete_cookie(SIGNIN_COOKIE, path="/signin", httponly=True, samesite="strict", secure=secure)
    return response


@auth_router.post("/signout", include_in_schema=False)
async def signout(request: Request, who: WriterDep) -> Response:
    auth = get_auth(request)
    cookie = request.cookies.get(COOKIE)
    payload = auth.unsign(cookie) if cookie else None
    if payload and isinstance(payload.get("k"), str):
        with session_scope(auth.url) as session:
            end_session(session, payload["k"])
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


def signin_url(request: Request) -> str:
    """Where an HTML page sends an anonymous user: /signin, returning here after."""
    return f"/signin?next={quote(request.url.path)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
