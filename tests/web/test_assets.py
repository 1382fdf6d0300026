"""Static files under content-hashed names, cached for a year; gzip for text answers when asked."""

from __future__ import annotations

import asyncio
import gzip
import re
import zlib
from concurrent.futures import ThreadPoolExecutor

from app.web.assets import IMMUTABLE, accepts_gzip, static_url
from app.web.compress import Compress
from app.web.render import STATIC, TEMPLATES

HASHED = re.compile(r"^/static/[\w/.-]+\.[0-9a-f]{10}\.\w+$")
IDENTITY = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip, deflate"}


def raw(client, url: str, headers: dict[str, str]) -> tuple[object, bytes]:
    """The answer and its body as sent, not decoded by the client. ``headers`` without
    Accept-Encoding: the request goes without one (the client would add its own)."""
    request = client.build_request("GET", url, headers=headers)
    if "accept-encoding" not in {name.lower() for name in headers}:
        del request.headers["accept-encoding"]
    response = client.send(request, stream=True)
    try:
        return response, b"".join(response.iter_raw())
    finally:
        response.close()


def test_pages_link_static_files_by_their_hashed_names(client) -> None:
    page = client.get("/").text
    links = re.findall(r"""(?:href|src)="(/static/[^"]*)\"""", page)
    assert {static_url("app.css"), static_url("vendor/pico/pico.min.css"), static_url("vendor/htmx/htmx.min.js")} <= set(links)
    assert links and all(HASHED.match(link) for link in links), links


def test_every_template_links_static_files_through_static_url() -> None:
    for template in TEMPLATES.rglob("*.html"):
        assert "/static/" not in template.read_text(encoding="utf-8"), template.name


def test_a_new_content_is_a_new_name(tmp_path) -> None:
    from app.web.assets import load

    (tmp_path / "app.css").write_text("body { color: red }")
    before = load(tmp_path).url("app.css")
    (tmp_path / "app.css").write_text("body { color: blue }")
    load.cache_clear()
    assert load(tmp_path).url("app.css") != before
    load.cache_clear()


def test_a_hashed_name_is_immutable_for_a_year_and_the_plain_name_still_works(client) -> None:
    original = (STATIC / "app.css").read_bytes()
    hashed = client.get(static_url("app.css"), headers=IDENTITY)
    assert hashed.status_code == 200 and hashed.content == original
    assert hashed.headers["cache-control"] == IMMUTABLE == "public, max-age=31536000, immutable"
    assert hashed.headers["content-type"].startswith("text/css")
    plain = client.get("/static/app.css", headers=IDENTITY)
    assert plain.status_code == 200 and plain.content == original
    assert "immutable" not in plain.headers["cache-control"] and "max-age=300" in plain.headers["cache-control"]
    assert client.head(static_url("app.css")).status_code == 200
    missing = client.get("/static/nothing.css")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert client.post(static_url("app.css")).status_code == 405


def test_static_etags_answer_304_per_encoding(client) -> None:
    url = static_url("vendor/htmx/htmx.min.js")
    plain = client.get(url, headers=IDENTITY)
    packed, _ = raw(client, url, GZIP)
    assert plain.headers["etag"] != packed.headers["etag"]  # two representations, two strong validators
    for first, headers in ((plain, IDENTITY), (packed, GZIP)):
        again = client.get(url, headers={**headers, "If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == first.headers["etag"] and again.headers["cache-control"] == IMMUTABLE
    assert client.get(url, headers={**GZIP, "If-None-Match": plain.headers["etag"]}).status_code == 200


def test_static_text_is_gzipped_only_when_asked_and_unpacks_to_the_same_bytes(client) -> None:
    for name in ("app.css", "vendor/pico/pico.min.css", "vendor/htmx/htmx.min.js"):
        original = (STATIC / name).read_bytes()
        packed, body = raw(client, static_url(name), GZIP)
        assert packed.headers["content-encoding"] == "gzip" and "accept-encoding" in packed.headers["vary"].lower()
        assert len(body) < len(original) and gzip.decompress(body) == original
        for refused in (IDENTITY, {"Accept-Encoding": "gzip;q=0, br"}, {}):
            plain, body = raw(client, static_url(name), refused)
            assert "content-encoding" not in plain.headers and body == original, refused


def test_pages_json_and_badges_are_gzipped_when_asked(client) -> None:
    for url in ("/", "/backlog", "/api/status", "/badge/migration.svg"):
        plain, plain_body = raw(client, url, IDENTITY)
        packed, packed_body = raw(client, url, GZIP)
        assert "content-encoding" not in plain.headers, url
        assert packed.headers["content-encoding"] == "gzip", url
        assert gzip.decompress(packed_body) == plain_body, url
        assert int(packed.headers["content-length"]) == len(packed_body) < len(plain_body), url
        assert "accept-encoding" in packed.headers["vary"].lower(), url


def test_a_gzipped_page_keeps_its_etag_and_304(client) -> None:
    plain, _ = raw(client, "/", IDENTITY)
    packed, _ = raw(client, "/", GZIP)
    assert packed.headers["etag"] == "W/" + plain.headers["etag"]  # other bytes: a weak validator
    assert "cookie" in packed.headers["vary"].lower()  # the page's own Vary is kept
    for sent, headers in ((packed, GZIP), (plain, IDENTITY)):
        again = client.get("/", headers={**headers, "If-None-Match": sent.headers["etag"]})
        assert again.status_code == 304 and again.headers["etag"] == sent.headers["etag"]


def test_a_304_carries_the_vary_of_its_200(client) -> None:
    for url in ("/api/status", "/"):
        whole = client.get(url, headers=GZIP)
        again = client.get(url, headers={**GZIP, "If-None-Match": whole.headers["etag"]})
        assert again.status_code == 304
        assert "Accept-Encoding" in again.headers["vary"] and "Accept-Encoding" in whole.headers["vary"]


def test_accept_encoding_is_read_with_its_weights() -> None:
    assert accepts_gzip("gzip") and accepts_gzip("br, gzip;q=0.5") and accepts_gzip("*")
    assert not accepts_gzip("") and not accepts_gzip("identity") and not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("*, gzip;q=0") and not accepts_gzip("br")


def run(coroutine):
    """Run ``coroutine`` on a loop of its own: the browser tests' loop may be running in this thread."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def test_a_streamed_answer_is_compressed_chunk_by_chunk() -> None:
    """Each chunk is flushed through the compressor as it comes: a stream is never held back."""
    chunks = [b"<p>first</p>" * 100, b"<p>second</p>" * 100]

    async def stream(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        for i, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1})

    sent: list[dict] = []

    async def send(message) -> None:
        sent.append(message)

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "path": "/stream", "method": "GET", "headers": [(b"accept-encoding", b"gzip")]}
    run(Compress(stream)(scope, receive, send))
    start, *bodies = sent
    headers = dict(start["headers"])
    assert headers[b"content-encoding"] == b"gzip" and b"content-length" not in headers
    unpack = zlib.decompressobj(31)
    assert unpack.decompress(bodies[0]["body"]) == chunks[0] and bodies[0]["more_body"]
    assert unpack.decompress(bodies[1]["body"]) == chunks[1] and not bodies[1]["more_body"]


def test_an_answer_with_an_etag_is_compressed_once() -> None:
    """A page from memory stays one from memory: its gzip is kept by its ETag, made once."""
    page = b"<p>the same page</p>" * 200

    async def app(scope, receive, send) -> None:
        headers = [(b"content-type", b"text/html"), (b"etag", b'"v1"'), (b"content-length", str(len(page)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": page})

    middleware = Compress(app)

    async def get() -> list[dict]:
        sent: list[dict] = []

        async def send(message) -> None:
            sent.append(message)

        async def receive() -> dict:
            return {"type": "http.request", "body": b""}

        scope = {"type": "http", "path": "/", "method": "GET", "headers": [(b"accept-encoding", b"gzip")]}
        await middleware(scope, receive, send)
        return sent

    first, second = run(get()), run(get())
    assert dict(first[0]["headers"])[b"etag"] == b'W/"v1"'
    assert first[1]["body"] is second[1]["body"]  # the very bytes kept, not a second compression
    assert gzip.decompress(first[1]["body"]) == page
