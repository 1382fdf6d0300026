"""A real git server for tests: ``git http-backend`` (smart HTTP) on a free loopback port.

Import the fixture into a test module (or a conftest)::

    from tests.gitserver import git_server  # noqa: F401  (fixture)

    def test_x(git_server, tmp_path):
        server = git_server(root=tmp_path / "srv")
        bare = server.create("platform")          # an empty bare repository, root/platform.git
        server.url("platform")                    # http://127.0.0.1:<port>/public/platform.git
        server.url("platform", private=True)      # .../private/platform.git: Basic auth, password == server.token
        server.stop()                             # the port now refuses connections

Every repository under ``root`` is served twice: under ``/public/`` to anyone,
under ``/private/`` only to a request whose HTTP Basic password is
``server.token`` (any user name); others get 401 with ``WWW-Authenticate``, as
a real host answers, so git asks for credentials and fails cleanly. Each
request runs ``git http-backend`` as a CGI program; ``server.requests`` logs
them. The fixture stops every server it started.
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

HTTP_BACKEND = Path(subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=True).stdout.strip())
HTTP_BACKEND /= "git-http-backend"


@dataclass
class Request:
    """One request the server answered."""

    method: str
    path: str
    status: int
    authorization: str | None


@dataclass
class GitServer:
    """A running server over the bare repositories in ``root``."""

    root: Path
    token: str
    httpd: ThreadingHTTPServer
    thread: threading.Thread
    requests: list[Request] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def url(self, name: str, private: bool = False) -> str:
        return f"http://127.0.0.1:{self.port}/{'private' if private else 'public'}/{name}.git"

    def path(self, name: str) -> Path:
        return self.root / f"{name}.git"

    def create(self, name: str, branch: str = "main") -> Path:
        """An empty bare repository ``root/<name>.git`` whose HEAD names ``branch``."""
        path = self.path(name)
        subprocess.run(["git", "init", "--quiet", "--bare", f"--initial-branch={branch}", str(path)], check=True)
        return path

    def stop(self) -> None:
        """Stop answering and close the port (idempotent)."""
        if self.thread.is_alive():
            self.httpd.shutdown()
            self.thread.join(timeout=10)
        self.httpd.server_close()


@pytest.fixture
def git_server() -> Iterator[Callable[..., GitServer]]:
    """A factory: ``git_server(root=...)`` starts a server over ``root`` (created if
    missing) and returns its ``GitServer``; ``token=`` picks the private password."""
    started: list[GitServer] = []

    def start(root: Path, token: str | None = None) -> GitServer:
        root.mkdir(parents=True, exist_ok=True)
        server = _serve(root, token or f"tok-{secrets.token_hex(12)}")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _serve(root: Path, token: str) -> GitServer:
    server: GitServer

    class Handler(_GitHandler):
        def serving(self) -> GitServer:
            return server

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    server = GitServer(root=root, token=token, httpd=httpd, thread=thread)
    thread.start()
    return server


class _GitHandler(BaseHTTPRequestHandler):
    """Maps ``/public/...`` and ``/private/...`` onto ``git http-backend`` over ``root``."""

    protocol_version = "HTTP/1.1"  # keep-alive, as git's curl expects from a real host

    def serving(self) -> GitServer:
        raise NotImplementedError

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def log_message(self, *_args) -> None:  # quiet: the test's own output stays readable
        pass

    def _answer(self) -> None:
        server = self.serving()
        area, _, rest = self.path.lstrip("/").partition("/")
        authorization = self.headers.get("Authorization")
        if area not in ("public", "private"):
            status = self._send(404, {"Content-Type": "text/plain"}, b"not found\n")
        elif area == "private" and not _authorized(authorization, server.token):
            status = self._send(401, {"WWW-Authenticate": 'Basic realm="sawmill tests"'}, b"credentials needed\n")
        else:
            status = self._send(*_http_backend(self, server.root, "/" + rest))
        server.requests.append(Request(self.command, self.path, status, authorization))

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> int:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return status


def _authorized(header: str | None, token: str) -> bool:
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        password = base64.b64decode(encoded, validate=True).decode().partition(":")[2]
    except ValueError:
        return False
    return hmac.compare_digest(password.encode(), token.encode())


def _http_backend(request: BaseHTTPRequestHandler, root: Path, path: str) -> tuple[int, dict[str, str], bytes]:
    """Run ``git http-backend`` as CGI for one request: (status, headers, body)."""
    location, _, query = path.partition("?")
    env = {
        **os.environ,
        "GIT_PROJECT_ROOT": str(root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": request.command,
        "PATH_INFO": location,
        "QUERY_STRING": query,
        "REMOTE_ADDR": request.client_address[0],
        "REMOTE_USER": "tester",  # lets a push through http-backend be accepted (http.receivepack)
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
    }
    for name, value in request.headers.items():  # GIT_PROTOCOL (v2) and Content-Encoding (gzip) among them
        env["HTTP_" + name.upper().replace("-", "_")] = value
    body = _request_body(request)
    env["CONTENT_LENGTH"] = str(len(body))
    done = subprocess.run([str(HTTP_BACKEND)], input=body, env=env, capture_output=True, check=False)
    head, _, payload = done.stdout.partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n") if ": " in line)
    status = int(headers.pop("Status", "200").split()[0])
    headers.pop("Content-Length", None)  # _send counts the body itself
    return status, headers, payload


def _request_body(request: BaseHTTPRequestHandler) -> bytes:
    """The request's body, also when git sends it chunked (large fetch negotiations)."""
    if request.headers.get("Transfer-Encoding", "").lower() != "chunked":
        return request.rfile.read(int(request.headers.get("Content-Length") or 0))
    chunks = []
    while size := int(request.rfile.readline().split(b";")[0].strip(), 16):
        chunks.append(request.rfile.read(size))
        request.rfile.readline()  # the CRLF after each chunk
    request.rfile.readline()  # the CRLF ending the (empty) trailer
    return b"".join(chunks)
