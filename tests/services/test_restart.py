"""A job cut off by a crash (kill -9) or a shutdown (SIGTERM) is taken up again on the next start,
never left running for good. The server is the real ``sawmill serve`` in a process of its own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from app.store.db import session_scope
from app.store.jobs import Job
from bench.bench_history import build_history_repo

SAWMILL = Path(sys.executable).with_name("sawmill")


@pytest.fixture(scope="module")
def long_history(tmp_path_factory) -> Path:
    """A repository whose first scan (a history backfill of 6,000 commits) takes a few seconds."""
    path = tmp_path_factory.mktemp("long") / "platform.git"
    builder, _ = build_history_repo(path, commits=6000)
    builder.repo.close()
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``sawmill serve`` over the test's database, started and stopped by the test."""

    def __init__(self, db_url: str, repo: Path, data_dir: Path, **env: str) -> None:
        self.env = {**os.environ, "SAWMILL_DATABASE_URL": db_url, "SAWMILL_REPO": str(repo),
                    "SAWMILL_DATA_DIR": str(data_dir), "SAWMILL_FETCH_INTERVAL": "0", **env}  # fmt: skip
        self.process: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> Server:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [str(SAWMILL), "serve", "--port", str(port)], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        wait_for(lambda: self._answers(), "the server to answer", 30)
        return self

    def _answers(self) -> bool:
        assert self.process.poll() is None, self.process.stderr.read().decode()
        try:
            return httpx.get(f"{self.url}/api/ping", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def status(self) -> dict:
        return httpx.get(f"{self.url}/api/status", timeout=10).json()

    def stop(self, sig: int) -> float:
        """Send ``sig`` and wait for the process to end; the seconds it took."""
        started = time.monotonic()
        self.process.send_signal(sig)
        self.process.wait(timeout=30)
        return time.monotonic() - started


@pytest.fixture
def server(db_url, long_history, tmp_path) -> Iterator[Server]:
    made = Server(db_url, long_history, tmp_path / "data")
    yield made
    if made.process and made.process.poll() is None:
        made.process.kill()
        made.process.wait()


def wait_for(check, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.02)
    return found


def jobs(db_url: str) -> list[Job]:
    with session_scope(db_url) as session:
        return list(session.exec(select(Job).order_by(Job.id)))


def running(server: Server):
    """The job under way, once it has said which commit it scans."""
    active = server.status()["jobs"]["active"]
    return active if active and active["state"] == "running" and active["commit"] else None


def test_kill_9_mid_scan_then_start_again_the_job_finishes_and_nothing_stays_running(server, db_url) -> None:
    server.start()
    cut = wait_for(lambda: running(server), "the first scan to start")
    assert len(cut["commit"]) == 40 and cut["phase"] in ("scanning", "history")  # the overview: "Scanning 4f3c2a1, ..."
    server.stop(signal.SIGKILL)
    (left,) = [j for j in jobs(db_url) if j.id == cut["id"]]
    assert left.state == "running"  # as the crash left it

    server.start()
    done = wait_for(lambda: (s := server.status())["last_scan"] and not s["jobs"]["active"] and s, "the scan to finish")
    assert done["summary"]["total"] > 0
    after = {j.id: j for j in jobs(db_url)}
    assert after[cut["id"]].state == "done" and after[cut["id"]].scanned
    assert [j for j in after.values() if j.state == "running"] == []


def test_sigterm_mid_scan_ends_the_server_promptly_and_the_next_start_takes_the_job_up(server, db_url) -> None:
    server.start()
    cut = wait_for(lambda: running(server), "the first scan to start")
    assert server.stop(signal.SIGTERM) < 15  # not held for good by the job under way
    (left,) = [j for j in jobs(db_url) if j.id == cut["id"]]
    assert left.state in ("queued", "done")  # released for the next start, or it finished in the grace time
    server.start()
    wait_for(lambda: (s := server.status())["last_scan"] and not s["jobs"]["active"], "the scan to finish")
    assert [j for j in jobs(db_url) if j.state in ("running", "queued")] == []
