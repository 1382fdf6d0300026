"""``/api/status`` under load, against a trivial in-memory route in the same server.

A real uvicorn (uvloop + httptools, one worker) serves a temp database holding
a scan of the seed repository. A small asyncio load generator in this process
keeps 64 keep-alive connections busy, first on ``/api/ping`` (the floor: a
constant JSON answer), then on ``/api/status``, in alternating rounds; the
best round of each counts. With ``wrk`` on the PATH it is used instead.

Goal: /api/status at >= 0.8 of the floor's requests per second, which holds
only if it is answered from memory (a query per request runs ~15x slower).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Result

CONNECTIONS = 64
ROUND_SECONDS = 1.5
ROUNDS = 5  # short alternating rounds, best of each: a busy neighbour hits both alike
GOAL = 0.8


def run() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="sawmill-bench-api-") as tmp:
        url = prepare(Path(tmp))
        port = free_port()
        server = start_server(url, port)
        try:
            wait_ready(port, server)
            best = {"/api/ping": 0.0, "/api/status": 0.0}
            load(port, "/api/status", 1.0)  # warm up: the first request builds the snapshot
            for _ in range(ROUNDS):
                for path in best:
                    best[path] = max(best[path], load(port, path, ROUND_SECONDS))
        finally:
            server.terminate()
            server.wait(timeout=10)
    ping, status = best["/api/ping"], best["/api/status"]
    tool = "wrk" if shutil.which("wrk") else "asyncio"
    return [
        Result(
            "api: /api/status req/s vs /api/ping",
            status / ping if ping else 0.0,
            GOAL,
            unit="x floor",
            lower_is_better=False,
            detail=f"status {status:,.0f} req/s, ping {ping:,.0f} req/s, {CONNECTIONS} connections ({tool})",
        )
    ]


def prepare(tmp: Path) -> str:
    from app.repobuilder.gitops import build_seed_repo
    from app.services import scan_and_store
    from app.store.db import migrate

    url = f"sqlite:///{tmp / 'sawmill.db'}"
    migrate(url)
    scan_and_store(url, build_seed_repo(tmp / "seed"))
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(url: str, port: int) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "uvicorn", "app.web.main:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning", "--backlog", "1024",
    ]  # fmt: skip
    env = {**os.environ, "SAWMILL_DATABASE_URL": url}
    return subprocess.Popen(command, env=env, cwd=Path(__file__).resolve().parents[1])


def wait_ready(port: int, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"uvicorn exited with status {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("uvicorn did not start listening")


def load(port: int, path: str, seconds: float) -> float:
    """Requests per second over ``seconds`` with CONNECTIONS keep-alive connections."""
    if shutil.which("wrk"):
        return _wrk(port, path, seconds)
    return asyncio.run(_asyncio_load(port, path, seconds))


def _wrk(port: int, path: str, seconds: float) -> float:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    if "Non-2xx" in out:
        raise RuntimeError(f"{path} answered errors under load:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


class _Client(asyncio.Protocol):
    """One keep-alive connection: send, read one whole response, send again."""

    def __init__(self, request: bytes, deadline: float, counts: list[int], done: asyncio.Future) -> None:
        self.request, self.deadline, self.counts, self.done = request, deadline, counts, done
        self.buffer = bytearray()

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self.buffer[:end]).lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 : head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None]) if at >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            self.counts[0 if self.buffer[9:12] == b"200" else 1] += 1
            del self.buffer[: end + 4 + length]
            if time.perf_counter() < self.deadline:
                self.transport.write(self.request)
            else:
                self.transport.close()

    def connection_lost(self, exc) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _asyncio_load(port: int, path: str, seconds: float) -> float:
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    loop = asyncio.get_running_loop()
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n".encode()
    counts = [0, 0]
    start = time.perf_counter()
    deadline = start + seconds
    waits = []
    for _ in range(CONNECTIONS):
        done = loop.create_future()
        await loop.create_connection(lambda d=done: _Client(request, deadline, counts, d), "127.0.0.1", port)
        waits.append(done)
    await asyncio.wait_for(asyncio.gather(*waits), timeout=seconds + 30)
    elapsed = time.perf_counter() - start
    if counts[1]:
        raise RuntimeError(f"{path} answered {counts[1]} non-200 responses under load")
    return counts[0] / elapsed
