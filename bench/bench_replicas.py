"""``/api/status`` and the overview on PostgreSQL, one replica and two, against ``/api/ping``.

A real PostgreSQL server (``tests.postgres``: Debian's binaries, a temp folder,
unix socket only) holds a scan of the seed repository and the demo progress
document (so the overview has blockers and milestones). Two replicas, each a
real uvicorn (uvloop + httptools, one worker) as ``sawmill serve`` runs it,
serve that one database on their own ports, with their background workers on
and the fetch timer off.

Each round loads, turn about, ``/api/ping`` (the floor: a constant JSON
answer), ``/api/status`` and ``/`` (the overview page): first on one replica
with 64 keep-alive connections, then on both at once, one load generator per
replica with half the connections each, their requests per second summed.
The best round of each counts, as in ``bench_api``. The machine's cores are
shared by the replicas, the load generators and PostgreSQL, so what counts is
the ratio to the floor measured the same way on the same servers, not the
absolute rate.

Goals, as on SQLite: /api/status at >= 0.8 of the floor (it holds only if each
replica answers from memory and its watch of the server stays quiet while
nothing is written), the overview at >= 0.5.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.bench_api import _Client, free_port, wait_ready
from bench.common import Result

ROOT = Path(__file__).resolve().parents[1]
CONNECTIONS = 64  # in all: split evenly between the replicas loaded
ROUND_SECONDS = 1
ROUNDS = 7
REPLICAS = (1, 2)
FLOOR = "/api/ping"
ROUTES = {"/api/status": ("status", 0.8), "/": ("overview", 0.5)}
DATABASE = "sawmill_bench"


def run() -> list[Result]:
    reason = unavailable()
    if reason is not None:
        return [_result(path, n, 0.0, reason) for path in ROUTES for n in REPLICAS]
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sawmill-bench-replicas-")))
        server = stack.enter_context(postgres())
        url, seed = prepare(server, tmp)
        ports = stack.enter_context(replicas(url, seed, tmp, max(REPLICAS)))
        settle(url, ports)
        best, errors = measure(ports)
    tool = "wrk" if shutil.which("wrk") else "asyncio"
    results = []
    for path in ROUTES:
        for n in REPLICAS:
            floor, rate = best[(n, FLOOR)], best[(n, path)]
            detail = f"{rate:,.0f} req/s, ping {floor:,.0f} req/s, {CONNECTIONS} connections on {_replicas(n)} ({tool})"
            if errors[(n, path)]:
                detail += f"; {errors[(n, path)]}"
            results.append(_result(path, n, rate / floor if floor else 0.0, detail))
    return results


def _result(path: str, count: int, value: float, detail: str) -> Result:
    name, goal = ROUTES[path]
    label = f"replicas: {name} ({path}) on PostgreSQL, {_replicas(count)}, req/s vs {FLOOR}"
    return Result(label, value, goal, unit="x floor", lower_is_better=False, detail=detail)


def _replicas(count: int) -> str:
    return f"{count} replica{'s' if count > 1 else ''}"


def unavailable() -> str | None:
    """Why this benchmark cannot run here, or None."""
    try:
        from tests.postgres import binaries
    except ImportError as exc:  # tests.postgres needs pytest: the test extra
        return f"tests.postgres cannot be imported ({exc}): pip install -e '.[test]'"
    if binaries() is None:
        return "PostgreSQL is not installed: apt-get install postgresql"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed: pip install -e '.[test]' (or '.[postgres]')"
    return None


@contextmanager
def postgres() -> Iterator:
    """A PostgreSQL server in its own temp folder, stopped and removed however the block ends."""
    from tests.postgres import PostgresServer, binaries

    # initdb and postgres refuse root: run as nobody, in a folder outside root's private tmp dirs.
    owner = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
    server = PostgresServer(Path(tempfile.mkdtemp(prefix="sawmill-bench-pg-")), binaries(), owner)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def prepare(server, tmp: Path) -> tuple[str, Path]:
    """A migrated database holding a scan of the seed repository and the demo document."""
    from app.repobuilder.gitops import build_seed_repo
    from app.services import scan_and_store
    from app.store.db import get_engine, migrate, session_scope
    from app.store.progress_doc import import_document

    server.execute(f"CREATE DATABASE {DATABASE}")
    url = server.url(DATABASE)
    migrate(url)
    seed = build_seed_repo(tmp / "seed").resolve()
    scan_and_store(url, seed)
    with session_scope(url, str(seed)) as session:
        import_document(session, (ROOT / "app" / "demo" / "progress.md").read_bytes(), who="bench")
    get_engine(url).dispose()  # this process keeps no connection open while the replicas are loaded
    return url, seed


@contextmanager
def replicas(url: str, seed: Path, tmp: Path, count: int) -> Iterator[list[int]]:
    """``count`` uvicorn replicas over one database; yields their ports, stops them all at the end."""
    servers: list[subprocess.Popen] = []
    try:
        ports = []
        for i in range(count):
            ports.append(free_port())
            servers.append(start_replica(url, seed, tmp / f"data-{i}", ports[-1]))
        for port, server in zip(ports, servers):
            wait_ready(port, server)
        yield ports
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def start_replica(url: str, seed: Path, data_dir: Path, port: int) -> subprocess.Popen:
    """What ``sawmill serve --repo <seed>`` runs, on ``port``, without the access log."""
    command = [
        sys.executable, "-m", "uvicorn", "app.web.main:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning", "--backlog", "1024",
    ]  # fmt: skip
    env = {
        **os.environ,
        "SAWMILL_DATABASE_URL": url,
        "SAWMILL_REPO": str(seed),
        "SAWMILL_FETCH_INTERVAL": "0",
        "SAWMILL_DATA_DIR": str(data_dir),
    }
    return subprocess.Popen(command, env=env, cwd=ROOT)


def settle(url: str, ports: list[int], timeout: float = 30.0) -> None:
    """Wait until the sync each worker queues on start has run, then warm every route on every replica."""
    from app.store.db import get_engine, session_scope
    from app.store.jobs import queue_state

    time.sleep(0.5)  # each worker queues its start sync in its own thread, just after start-up
    deadline = time.monotonic() + timeout
    try:
        while True:
            with session_scope(url) as session:
                if not queue_state(session):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the replicas' start syncs did not finish within {timeout:.0f} s")
            time.sleep(0.2)
    finally:
        get_engine(url).dispose()
    for path in (FLOOR, *ROUTES):
        load(ports, path, ROUND_SECONDS)
        drain(ports, path)


def drain(ports: list[int], path: str) -> None:
    """Wait until the replicas have answered every request of the last load.

    A load generator stops at its deadline, but the requests it left in flight
    are still served: up to 64 overview pages, a second or more of work, which
    would land on the next measurement (the floor's). A sync route's request
    queues behind them for a worker thread, so the first request here returns
    about when they are done; the second confirms on an idle server.
    """
    for port in ports:
        for _ in range(2):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as response:
                response.read()


def measure(ports: list[int]) -> tuple[dict[tuple[int, str], float], dict[tuple[int, str], str]]:
    """The best requests per second of every (replicas, path), over alternating rounds,
    and what went wrong under load (timeouts), if anything."""
    best = {(n, path): 0.0 for n in REPLICAS for path in (FLOOR, *ROUTES)}
    errors = dict.fromkeys(best, "")
    for _ in range(ROUNDS):
        for n, path in best:
            rate, error = load(ports[:n], path, ROUND_SECONDS)
            drain(ports[:n], path)
            best[(n, path)] = max(best[(n, path)], rate)
            errors[(n, path)] = errors[(n, path)] or error
    return best, errors


def load(ports: list[int], path: str, seconds: float) -> tuple[float, str]:
    """Requests per second on all ``ports`` at once (CONNECTIONS split between them), summed;
    and a note of the requests that timed out, if any."""
    if shutil.which("wrk"):
        return _wrk(ports, path, seconds)
    return asyncio.run(_asyncio_load(ports, path, seconds)), ""


def _wrk(ports: list[int], path: str, seconds: float) -> tuple[float, str]:
    # One single-threaded wrk per replica, all started before any is waited for.
    runs = [
        subprocess.Popen(
            ["wrk", "-t1", f"-c{CONNECTIONS // len(ports)}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
             f"http://127.0.0.1:{port}{path}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        for port in ports
    ]
    total, timeouts = 0.0, 0
    for process in runs:
        out, err = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"wrk failed on {path}: {err or out}")
        if "Non-2xx" in out:
            raise RuntimeError(f"{path} answered errors under load:\n{out}")
        total += float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        if found := re.search(r"timeout (\d+)", out):
            timeouts += int(found.group(1))
    return total, f"{timeouts} requests timed out (10 s)" if timeouts else ""


async def _asyncio_load(ports: list[int], path: str, seconds: float) -> float:
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    loop = asyncio.get_running_loop()
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    counts = [0, 0]
    start = time.perf_counter()
    deadline = start + seconds
    waits = []
    for i in range(CONNECTIONS // len(ports) * len(ports)):
        done = loop.create_future()
        await loop.create_connection(lambda d=done: _Client(request, deadline, counts, d), "127.0.0.1", ports[i % len(ports)])
        waits.append(done)
    await asyncio.wait_for(asyncio.gather(*waits), timeout=seconds + 30)
    elapsed = time.perf_counter() - start
    if counts[1]:
        raise RuntimeError(f"{path} answered {counts[1]} non-200 responses under load")
    return counts[0] / elapsed
