"""The dashboard's pages under load, each against ``/api/ping`` of the same server.

A real uvicorn (uvloop + httptools, one worker, as ``bench_api``) serves a temp
SQLite database holding a scan of the seed repository and the demo progress
document. Each round loads, turn about, the floor (``/api/ping``: a constant
JSON answer) and every page: the overview, one module page, the backlog,
milestones, blockers and the document, and the stylesheet under its hashed name
(served from memory too), 64 keep-alive connections each (wrk,
or the asyncio generator of ``bench_api``). The best round of each counts.
After every load the server is drained (``bench_replicas.drain``), so a slow
route's requests left in flight never land on the next measurement.

Goal: every page at >= 0.5 of the floor, which holds only if it is served from
memory (``app.web.page_cache``); rendered per request they ran at 0.01-0.04.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.request
from pathlib import Path

from app.web.assets import static_url
from bench.bench_api import CONNECTIONS, free_port, load, prepare, start_server, wait_ready
from bench.bench_replicas import drain
from bench.common import Result

ROOT = Path(__file__).resolve().parents[1]
FLOOR = "/api/ping"
PAGES = ["/", "/modules/{module}", "/backlog", "/milestones", "/blockers", "/document"]
ROUND_SECONDS = 1
ROUNDS = 5
GOAL = 0.5


def run() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="sawmill-bench-pages-") as tmp:
        url = prepare(Path(tmp))
        add_document(url)
        port = free_port()
        server = start_server(url, port)
        try:
            wait_ready(port, server)
            paths = [FLOOR, *(page.format(module=first_module(port)) for page in PAGES), static_url("app.css")]
            best = measure(port, paths)
        finally:
            server.terminate()
            server.wait(timeout=10)
    tool = "wrk" if shutil.which("wrk") else "asyncio"
    floor = best[FLOOR]
    return [
        Result(
            f"pages: {path} req/s vs {FLOOR}",
            best[path] / floor if floor else 0.0,
            GOAL,
            unit="x floor",
            lower_is_better=False,
            detail=f"{best[path]:,.0f} req/s, ping {floor:,.0f} req/s, {CONNECTIONS} connections ({tool})",
        )
        for path in paths[1:]
    ]


def add_document(url: str) -> None:
    from app.store.db import get_engine, session_scope
    from app.store.progress_doc import import_document

    with session_scope(url) as session:
        import_document(session, (ROOT / "app" / "demo" / "progress.md").read_bytes(), who="bench")
    get_engine(url).dispose()


def first_module(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=30) as response:
        return json.load(response)["modules"][0]["path"]


def measure(port: int, paths: list[str]) -> dict[str, float]:
    """The best requests per second of every path over alternating rounds, after one warm-up load."""
    best = dict.fromkeys(paths, 0.0)
    for path in paths:
        load(port, path, ROUND_SECONDS)
        drain([port], path)
    for _ in range(ROUNDS):
        for path in paths:
            best[path] = max(best[path], load(port, path, ROUND_SECONDS))
            drain([port], path)
    return best
