"""Pages from memory: each page (or htmx block) is rendered once per change of what it shows.

A page GET goes through ``cached_page``, which answers from an LRU keyed on

    (path, query, htmx block or None, store version, minute)

The store version (``status_cache.StoreWatch``) is taken before the page is
built, as ``Memo`` does, so a write landing mid-build makes the next request
build again. The minute bounds everything on a page that follows the clock
without a write: the burndown's "today", a queued retry coming due, a pin that
expires. A hit costs no query and no template; only a miss opens a session.

What differs between the people who read one render is left in it as slots,
unguessable markers filled per request with ``str.replace``, never a second
template pass:

- the CSRF token of every form (``csrf_input``/``csrf_token`` in the templates);
- the header's sign-in link or signed-in name (``partials/who.html``), drawn
  twice at build time, signed in (name and token as slots) and anonymous;
- clock phrases ("scanned 3 minutes ago", "trying again in 7 seconds", the
  ``ago``/``ago_or_in`` filters), worked out again on every request.

Each answer has its own ETag (the render's, mixed with what filled its slots),
``Cache-Control: private, no-cache`` (a page can carry a signed-in name) and
``Vary: HX-Request, Cookie``; a matching ``If-None-Match`` gets a 304.

Only good GETs are kept: a build that raises (a 404) is answered by the error
handler and forgotten; POST answers and forms redrawn with their errors are
rendered by ``render.render`` as before, fresh each time.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from markupsafe import Markup, escape
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.store.db import session_scope
from app.web.api import _etag, _matches
from app.web.auth import CSRF_FIELD, Identity, identify
from app.web.render import VARY, forge_of, is_htmx, render_html
from app.web.status_cache import StoreWatch, watch_for

SIZE = 256  # pages kept: module pages are many, each a few kB
VARIANTS = 16  # ready-made answers kept per page (one per reader and clock phrases)
MINUTE = 60.0

_NONCE = secrets.token_hex(8)  # per process: no page content can spell a slot


def _slot(kind: str) -> str:
    return f"sawmill-{_NONCE}-{kind}-"  # letters, digits and dashes: autoescaping leaves it alone


CSRF, NAME, WHO = _slot("csrf"), _slot("name"), _slot("who")


class Slots:
    """The slots of one render; the ``clock_phrase`` filters register theirs here."""

    def __init__(self) -> None:
        self.clocks: list[tuple[str, Callable[[datetime | None], str], datetime | None]] = []

    def clock(self, phrase: Callable[[datetime | None], str], value: datetime | None) -> str:
        marker = _slot(f"t{len(self.clocks)}")
        self.clocks.append((marker, phrase, value))
        return marker


def _csrf_input(_request: Any) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, Markup(CSRF))


def _no_identity(_request: Any) -> None:
    raise RuntimeError("a page served from memory shows who is signed in only in partials/who.html")


def _shared(path: str) -> dict[str, Any]:
    """The context keys ``render.render`` adds, with the per-request ones as slots."""
    return {
        "request": None, "path": path, "errors": {}, "values": {},
        "csrf_input": _csrf_input, "csrf_token": lambda _request: CSRF, "current_identity": _no_identity,
    }  # fmt: skip


@dataclass
class Page:
    """One render with its slots, and the answers made from it so far."""

    body: str
    who: tuple[str, str] | None  # the header (signed in, anonymous); None for an htmx block
    clocks: list[tuple[str, Callable[[datetime | None], str], datetime | None]]
    etag: str = field(init=False)
    _answers: dict[tuple, tuple[str, Response, Response]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.etag = _etag(self.body.encode())

    def answer(self, request: Request) -> Response:
        identity = identify(request)
        name, token = (identity.name, identity.csrf or "") if identity else (None, "")
        variant = (name, token, tuple(phrase(value) for _, phrase, value in self.clocks))
        answers = self._answers.get(variant)
        if answers is None:
            if len(self._answers) >= VARIANTS:
                self._answers.clear()
            answers = self._answers[variant] = self._make(*variant)
        etag, full, not_modified = answers
        match = request.headers.get("if-none-match")
        return not_modified if match and _matches(match, etag) else full

    def _make(self, name: str | None, token: str, phrases: tuple[str, ...]) -> tuple[str, Response, Response]:
        """(ETag, 200, 304) for one reader at one moment; the responses are never changed by sending them."""
        token = str(escape(token))
        body = self.body
        if self.who is not None:
            signed_in, anonymous = self.who
            body = body.replace(WHO, signed_in.replace(NAME, str(escape(name))) if name is not None else anonymous)
        body = body.replace(CSRF, token)
        for (marker, _, _), phrase in zip(self.clocks, phrases):
            body = body.replace(marker, str(escape(phrase)))
        filled = (name, token, phrases) != (None, "", ())
        etag = _etag(repr((self.etag, name, token, phrases)).encode()) if filled else self.etag
        headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": VARY}
        full = Response(body.encode(), media_type="text/html", headers=headers)
        return etag, full, Response(status_code=304, headers=headers)


def render_page(name: str, context: dict[str, Any], block: str | None, path: str) -> Page:
    """``name`` (or its ``block``) rendered once for every reader: per-request bits as slots."""
    slots = Slots()
    context = {**_shared(path), **context, "slots": slots}
    if block is None:
        context["who_slot"] = Markup(WHO)
    body = render_html(name, context, block)
    who = None
    if block is None:
        reader = Identity(name=NAME, method="session", csrf=CSRF)
        who = (
            render_html("partials/who.html", {**_shared(path), "current_identity": lambda _request: reader}),
            render_html("partials/who.html", {**_shared(path), "current_identity": lambda _request: None}),
        )
    return Page(body, who, slots.clocks)


class PageCache:
    """The app's rendered pages: an LRU of ``size``, built at most once per key at a time.

    Used from the event loop only (the routes are async; a build runs in a worker thread).
    Pages of an older store version or minute are dropped when a newer one is kept.
    """

    def __init__(self, watch: StoreWatch, size: int = SIZE) -> None:
        self.watch, self.size = watch, size
        self._pages: OrderedDict[tuple, Page] = OrderedDict()
        self._building: dict[tuple, asyncio.Future] = {}
        self._current: tuple | None = None
        self.builds = 0

    def moment(self) -> tuple:
        """(store version, clock bucket): taken before a build, part of its key."""
        # A watch blind to other processes' writes (no file, no poll) keeps pages 2 s, as Memo does.
        period = MINUTE if self.watch.sees_every_write() else 2.0
        return self.watch.version(), int(time.time() // period)

    async def get(self, key: tuple, moment: tuple, build: Callable[[], Page]) -> Page:
        full = (*key, moment)
        page = self._pages.get(full)
        if page is not None:
            self._pages.move_to_end(full)
            return page
        pending = self._building.get(full)
        if pending is None:
            pending = self._building[full] = asyncio.ensure_future(run_in_threadpool(build))
            self.builds += 1
            pending.add_done_callback(lambda done: self._built(full, moment, done))
        return await asyncio.shield(pending)  # one reader gone away does not cancel the others' build

    def _built(self, key: tuple, moment: tuple, done: asyncio.Future) -> None:
        self._building.pop(key, None)
        if done.cancelled() or done.exception() is not None:
            return  # an error page: answered, never kept
        if moment != self.moment():
            return  # a write landed mid-build: served to those who waited, not kept
        if moment != self._current:
            self._pages.clear()  # nothing keyed on an older version or minute can be asked for again
            self._current = moment
        self._pages[key] = done.result()
        while len(self._pages) > self.size:
            self._pages.popitem(last=False)


def page_cache(request: Request) -> PageCache:
    state = request.app.state
    cache = getattr(state, "page_cache", None)
    if cache is None:
        cache = state.page_cache = PageCache(watch_for(state.settings.database_url))
    return cache


async def cached_page(
    request: Request,
    template: str,
    build: Callable[[Session], dict[str, Any]],
    *,
    block: str | None = None,
    query: bytes | None = None,
    moment: tuple | None = None,
) -> Response:
    """The page ``template`` over ``build(session)``'s context, or for htmx its ``block``, from memory.

    ``query`` replaces the request's query string in the key (a route that reads none of it);
    ``moment`` is the cache's ``moment()`` when the route took it already.
    """
    cache = page_cache(request)
    moment = moment or cache.moment()
    fragment = block if block and is_htmx(request) else None
    path = request.scope["path"]  # not request.url: building a URL costs more than the rest of a hit
    key = (path, request.scope["query_string"] if query is None else query, fragment)
    state = request.app.state

    def make() -> Page:
        with session_scope(state.settings.database_url, state.repository) as session:
            context = {"forge": forge_of(request.app), **build(session)}
        return render_page(template, context, fragment, path)

    page = await cache.get(key, moment, make)
    return page.answer(request)
