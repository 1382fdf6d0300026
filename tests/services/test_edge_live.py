"""The HTTP edge against the real ``sawmill serve`` in a process of its own. Large hostile
bodies: the answer (401 or 413) comes after the first few MiB of a 200 MiB upload, and the
server's memory and writes stay flat (read from /proc: peak RSS and bytes written, spooled
uploads included). Forwarded headers: believed only from SAWMILL_TRUSTED_PROXIES."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.store.db import migrate, session_scope
from app.store.tokens import create_token
from tests.serve import Serve

MiB = 1024 * 1024
UPLOAD = 200 * MiB
BOUNDARY = "sawmill-test-boundary"


class Server(Serve):
    """The server, and what /proc says of its process."""

    def proc(self, name: str, key: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/{name}").read_text().splitlines():
            field, _, value = line.partition(":")
            if field == key:
                return int(value.split()[0])
        raise KeyError(key)

    def peak_rss(self) -> int:
        return self.proc("status", "VmHWM") * 1024

    def written(self) -> int:
        return self.proc("io", "wchar")  # every write(2): sockets, pipes, temp files

    def token(self) -> str:
        with session_scope(self.db_url) as session:
            return create_token(session, "alice")


def start(tmp_path: Path, **env: str) -> Server:
    db_url = f"sqlite:///{tmp_path / 'sawmill.db'}"
    migrate(db_url)
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return Server(db_url, tmp_path / "data", TMPDIR=str(tmp_path / "tmp"), **env).start()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    made = start(tmp_path)
    yield made
    made.kill()


class Upload:
    """A body streamed in 1 MiB chunks (no Content-Length), counting what the client got to send."""

    def __init__(self, total: int, head: bytes = b"") -> None:
        self.total, self.head, self.sent = total, head, 0

    def __iter__(self) -> Iterator[bytes]:
        if self.head:
            self.sent += len(self.head)
            yield self.head
        while self.sent < self.total:
            self.sent += MiB
            yield b"x" * MiB


def post(server: Server, path: str, upload: Upload, headers: dict[str, str]) -> httpx.Response:
    # httpx stops sending when the server answers and closes, and reads the answer
    return httpx.post(f"{server.url}{path}", content=upload, headers=headers, timeout=60)


def multipart_head() -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="title"\r\n\r\nBig\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def measured(server: Server, path: str, upload: Upload, headers: dict[str, str]) -> tuple[httpx.Response, int, int]:
    """The answer, and how much the server's peak memory and its writes grew meanwhile."""
    rss, written = server.peak_rss(), server.written()
    response = post(server, path, upload, headers)
    return response, server.peak_rss() - rss, server.written() - written


def test_an_anonymous_200_mib_json_body_is_a_quick_401(server) -> None:
    upload = Upload(UPLOAD)
    response, grew, wrote = measured(server, "/api/backlog", upload, {"Content-Type": "application/json"})
    assert response.status_code == 401 and response.json()["error"]["status"] == 401
    assert upload.sent < 32 * MiB  # answered at once, not after the upload
    assert grew < 16 * MiB and wrote < 1 * MiB


def test_an_anonymous_200_mib_multipart_to_a_form_is_a_quick_401_with_nothing_spooled(server) -> None:
    upload = Upload(UPLOAD, multipart_head())
    response, grew, wrote = measured(server, "/backlog", upload, MULTIPART)
    assert response.status_code == 401 and "Sign in" in response.text
    assert upload.sent < 32 * MiB
    assert grew < 16 * MiB and wrote < 1 * MiB


def test_an_identified_200_mib_multipart_is_cut_at_the_limit(server) -> None:
    upload = Upload(UPLOAD, multipart_head())
    headers = {**MULTIPART, "Authorization": f"Bearer {server.token()}"}
    response, grew, wrote = measured(server, "/backlog", upload, headers)
    assert response.status_code == 413
    assert upload.sent < 32 * MiB
    assert grew < 16 * MiB and wrote < 4 * MiB  # at most the limit's worth was spooled


def test_an_identified_200_mib_json_body_is_cut_at_the_limit(server) -> None:
    upload = Upload(UPLOAD)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {server.token()}"}
    response, grew, wrote = measured(server, "/api/backlog", upload, headers)
    assert response.status_code == 413 and response.json()["error"]["status"] == 413
    assert upload.sent < 32 * MiB
    assert grew < 16 * MiB and wrote < 1 * MiB


@pytest.mark.parametrize(("trusted", "secure"), [("127.0.0.1", True), ("", False), ("10.0.0.0/8", False)])
def test_serve_believes_forwarded_https_only_from_trusted_proxies(tmp_path, trusted, secure) -> None:
    server = start(tmp_path, SAWMILL_TRUSTED_PROXIES=trusted)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            form = re.search(r'name="signin_csrf" value="([^"]+)"', client.get("/signin").text).group(1)
            response = client.post(
                "/signin", data={"token": server.token(), "signin_csrf": form}, headers={"X-Forwarded-Proto": "https"}
            )
        assert response.status_code == 303
        cookie = next(value for name, value in response.headers.multi_items() if "sawmill_session=" in value)
        assert ("; secure" in cookie.lower()) is secure
    finally:
        server.process.terminate()
        server.process.wait(timeout=30)
