"""gzip for the app's text answers (HTML, JSON, SVG badges) when the client accepts it.

A pure ASGI middleware, so a streamed answer stays streamed: each chunk is
flushed through the compressor as it comes. A whole answer with a strong ETag
(the pages, ``/api/status``, the badges: all served from memory) is compressed
once per path and ETag and kept, so a page from memory stays a page from memory.

A compressed answer's ETag is made weak (``W/"..."``), as nginx does: the
bytes differ from the identity answer's, and ``If-None-Match`` compares
weakly (``api._matches``), so the 304 still comes. For a client that accepts
gzip every ETag on a compressible answer or a 304 is weak, so a 200 and the
304 that revalidates it always carry the same one. Static files are left
alone: ``app.web.assets`` serves them gzipped already, with their own ETags.
"""

from __future__ import annotations

import gzip
import zlib
from collections import OrderedDict

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.assets import COMPRESSIBLE, PREFIX, accepts_gzip

MINIMUM = 500  # bytes: below this gzip's header and trailer eat the gain
LEVEL = 6
KEPT = 256  # compressed bodies kept, by ETag


class Compress:
    def __init__(self, app: ASGIApp, minimum: int = MINIMUM, kept: int = KEPT) -> None:
        self.app, self.minimum, self.kept = app, minimum, kept
        self._bodies: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        wanted = accepts_gzip(Headers(scope=scope).get("accept-encoding", ""))
        await self.app(scope, receive, _Responder(self, send, wanted, scope["path"]).send)

    def packed(self, path: str, etag: str | None, media_type: str, body: bytes) -> bytes:
        """``body`` gzipped; kept by path and ETag when the answer has a strong one."""
        if etag is None or etag.startswith("W/"):
            return gzip.compress(body, LEVEL, mtime=0)
        key = (path, etag, media_type)
        found = self._bodies.get(key)
        if found is None:
            found = self._bodies[key] = gzip.compress(body, LEVEL, mtime=0)
            while len(self._bodies) > self.kept:
                self._bodies.popitem(last=False)
        else:
            self._bodies.move_to_end(key)
        return found


class _Responder:
    """One answer going out: holds its start until the first body chunk says how to send it."""

    def __init__(self, owner: Compress, send: Send, wanted: bool, path: str) -> None:
        self.owner, self._send, self.wanted, self.path = owner, send, wanted, path
        self.start: Message | None = None
        self.etag: str | None = None  # as the app set it, before it was made weak: the key of a kept body
        self.stream: zlib._Compress | None = None  # set once a streamed answer is being compressed
        self.passing = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            await self._begin(message)
        elif message["type"] == "http.response.body" and not self.passing:
            await (self._stream(message) if self.stream is not None else self._first_body(message))
        else:
            await self._send(message)

    async def _begin(self, message: Message) -> None:
        headers = MutableHeaders(scope=message)  # a copy of the list: a response kept in memory is not changed
        compressible = headers.get("content-type", "").startswith(COMPRESSIBLE) and "content-encoding" not in headers
        if compressible or message["status"] == 304:  # a 304 carries the Vary its 200 did
            headers.add_vary_header("Accept-Encoding")
        self.etag = headers.get("etag")
        if self.wanted and (compressible or message["status"] == 304):
            _weaken(headers)
        # only a 200 with a text type is worth holding back; the rest goes as it comes
        self.passing = not (self.wanted and compressible and message["status"] == 200)
        if self.passing:
            await self._send(message)
        else:
            self.start = message

    async def _first_body(self, message: Message) -> None:
        assert self.start is not None
        headers = MutableHeaders(scope=self.start)
        body, more = message.get("body", b""), message.get("more_body", False)
        if not more:
            if len(body) >= self.owner.minimum:
                body = self.owner.packed(self.path, self.etag, headers.get("content-type", ""), body)
                headers["Content-Encoding"] = "gzip"
                headers["Content-Length"] = str(len(body))
            self.passing = True
            await self._send(self.start)
            await self._send({"type": "http.response.body", "body": body})
            return
        # a stream: its length is unknown, each chunk is flushed so nothing waits in the compressor
        if "content-length" in headers:
            del headers["Content-Length"]
        headers["Content-Encoding"] = "gzip"
        self.stream = zlib.compressobj(LEVEL, zlib.DEFLATED, 31)
        await self._send(self.start)
        await self._stream(message)

    async def _stream(self, message: Message) -> None:
        assert self.stream is not None
        more = message.get("more_body", False)
        chunk = self.stream.compress(message.get("body", b""))
        chunk += self.stream.flush(zlib.Z_SYNC_FLUSH if more else zlib.Z_FINISH)
        await self._send({"type": "http.response.body", "body": chunk, "more_body": more})


def _weaken(headers: MutableHeaders) -> None:
    etag = headers.get("etag")
    if etag and not etag.startswith("W/"):
        headers["ETag"] = f"W/{etag}"
