"""The HTTP edge: what every request and every answer passes through, before any route.

- **Bodies.** A declared ``Content-Length`` past ``SAWMILL_MAX_BODY_BYTES`` is a 413
  before a byte is read; a streamed body is cut as it passes that size (a 413 from the
  route's read, in the app's error shape). FastAPI's own ``max_body_size`` is not used:
  it answers in plain text, without the security headers.
- **Identity first.** A route that needs an identity (``WriterDep``) has it checked
  when its body is first asked for, so an anonymous client gets its 401 without the
  server reading, buffering or spooling its upload, and without learning anything
  from a validation error. A page's small urlencoded form (``_page_form``) is the one
  body still read, so the 401's sign-in page can carry what was typed (app.web.pending).
- **HEAD** is answered as the GET of the same address, headers only (FastAPI's routes
  take GET alone; uptime checks and link checkers send HEAD).
- **Answers.** Security headers on every response (a strict Content-Security-Policy,
  nosniff, no framing, a same-origin referrer); ``Location`` never names the Host the
  client sent (Starlette's trailing-slash redirect does); ``Connection: close`` when
  the answer comes before the request's body was read, so the rest is not drained.
- **Proxies.** ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed only from
  ``SAWMILL_TRUSTED_PROXIES`` (uvicorn's ProxyHeadersMiddleware), and the address that
  really connected is kept for the ``Remote-User`` check (``auth.PEER_KEY``).
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.dependencies.models import Dependant
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.config import Settings
from app.reports.model import MAX_BYTES as REPORT_MAX_BYTES
from app.web.auth import PEER_KEY, NotSignedIn, identify, writer
from app.web.charts import _STYLE as CHART_STYLE  # the one inline <style> a page holds (the burndown SVG)


def csp_hash(text: str) -> str:
    """The CSP source allowing an inline ``<script>`` or ``<style>`` whose content is exactly ``text``."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def policy(script: str = "'self'", style: str = "'self'") -> str:
    return "; ".join((
        "default-src 'self'", f"script-src {script}", f"style-src {style}", "img-src 'self' data:",
        "font-src 'self'", "connect-src 'self'", "form-action 'self'", "frame-ancestors 'none'",
        "base-uri 'none'", "object-src 'none'",
    ))  # fmt: skip


# Pages: scripts only from /static (htmx), styles from /static and the chart's own block.
# Pico's icons are data: URLs. htmx 4 adds its indicator rules as a constructed stylesheet,
# which style-src does not govern.
PAGE_POLICY = policy(style=f"'self' {csp_hash(CHART_STYLE)}")
# Paths whose bodies may pass the server's limit, up to their own: a chainsaw report from CI.
LARGER_BODIES = {"/api/reports": REPORT_MAX_BYTES}
HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class Edge:
    """Pure ASGI middleware (no body buffering, unlike BaseHTTPMiddleware); see the module."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.limit = settings.max_body_bytes
        self.app = ProxyHeadersMiddleware(app, trusted_hosts=settings.trusted_proxies) if settings.trusted_proxies else app
        self._writes: dict[int, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[PEER_KEY] = scope.get("client")
        head = scope["method"] == "HEAD" and not scope["path"].startswith("/static/")  # static files answer HEAD
        if head:  # every read answers HEAD as its GET, without the body (uptime checks send HEAD)
            scope = {**scope, "method": "GET"}
        request = Request(scope)
        has_body = "transfer-encoding" in request.headers or request.headers.get("content-length", "0") not in ("", "0")
        body_done = not has_body

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self._headers(request, message.get("headers", []), close=not body_done)
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        limit = max(self.limit, LARGER_BODIES.get(scope["path"], 0))
        if (declared := declared_length(request)) is not None and declared > limit:
            await self._refuse(request, too_large(limit), answer)
            return

        read = 0

        async def identity_first() -> Message:
            nonlocal body_done, read
            if read == 0 and self._needs_identity(scope) and identify(request) is None and not _page_form(request):
                raise NotSignedIn()
            message = await receive()
            read += len(message.get("body", b""))
            if read > limit:  # a body streamed without a length, or longer than it said
                raise too_large(limit)
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, identity_first, answer)

    def _needs_identity(self, scope: Scope) -> bool:
        """Whether the matched route (the router has put it in the scope by now) takes a ``WriterDep``."""
        route = scope.get("route")
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            return False
        key = id(dependant)
        if key not in self._writes:
            self._writes[key] = _calls(dependant, writer)
        return self._writes[key]

    async def _refuse(self, request: Request, problem: HTTPException, send: Send) -> None:
        from app.web.errors import handle  # errors imports the store; the edge is imported first

        response = await handle(request, problem)
        await response(request.scope, request.receive, send)

    def _headers(self, request: Request, headers: list, close: bool) -> list:
        names = {name.lower() for name, _ in headers}
        out = [(name, _relative(request, value) if name.lower() == b"location" else value) for name, value in headers]
        if b"content-security-policy" not in names:
            out.append((b"content-security-policy", PAGE_POLICY.encode()))
        out.extend(header for header in HEADERS if header[0] not in names)
        if close and b"connection" not in names:
            out.append((b"connection", b"close"))  # the unread rest of the body is not worth draining
        return out


PAGE_FORM_BYTES = 64 * 1024


def _page_form(request: Request) -> bool:
    """A page's own small form, posted by a signed-out browser: read, so the 401 can carry
    what was typed through the sign-in (app.web.pending). Never the API, never an upload."""
    headers = request.headers
    return (
        not request.url.path.startswith("/api/")
        and headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
        and (size := declared_length(request)) is not None and size <= PAGE_FORM_BYTES
        and headers.get("hx-request") != "true"
    )  # fmt: skip


def too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"the request body is over the server's limit of {limit:,} bytes")


def declared_length(request: Request) -> int | None:
    """The body's length as its Content-Length declares it; None when it declares none (chunked)."""
    declared = request.headers.get("content-length", "")
    return int(declared) if declared.isdigit() else None


async def read_capped(request: Request, limit: int, refusal: str) -> bytes:
    """The body, refused (413, ``refusal``) as soon as it passes ``limit`` bytes: never read whole first."""
    if (declared := declared_length(request)) is not None and declared > limit:
        raise HTTPException(413, refusal)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, refusal)
        chunks.append(chunk)
    return b"".join(chunks)


def _calls(dependant: Dependant, target) -> bool:
    return any(d.call is target or _calls(d, target) for d in dependant.dependencies)


def _relative(request: Request, location: bytes) -> bytes:
    """``location`` without the scheme and host when they are this request's own: the client
    chose the Host header, so echoing it would let anyone point a redirect elsewhere."""
    text = location.decode("latin-1")
    parts = urlsplit(text)
    if parts.scheme in ("http", "https") and parts.netloc == request.headers.get("host", ""):
        text = parts.path or "/"
        text += f"?{parts.query}" if parts.query else ""
    if text.startswith("/"):
        text = "/" + text.lstrip("/\\")  # "//host" would be another site
    return text.encode("latin-1")
