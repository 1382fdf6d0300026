"""The real ``sawmill serve`` in a process of its own, for tests that need one (restarts, replicas,
the HTTP edge, racing writers), and the small helpers those tests share."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

SAWMILL = Path(sys.executable).with_name("sawmill")
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check: Callable[[], T], what: str, timeout: float = 60.0) -> T:
    """Poll ``check`` until it answers something true; a deadline for a hang, not a measure of speed."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.02)
    return found


class Serve:
    """``sawmill serve`` with ``SAWMILL_*`` settings for ``db_url`` (no fetch timer unless told), on a free port."""

    def __init__(self, db_url: str, data_dir: Path, **env: str) -> None:
        self.db_url = db_url
        self.env = {**os.environ, "SAWMILL_DATABASE_URL": db_url, "SAWMILL_DATA_DIR": str(data_dir),
                    "SAWMILL_FETCH_INTERVAL": "0", **env}  # fmt: skip
        self.process: subprocess.Popen | None = None
        self.url = ""
        self._log = ""

    def start(self) -> Serve:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [str(SAWMILL), "serve", "--port", str(port)], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        wait_for(self._answers, "the server to answer", 30)
        return self

    def _answers(self) -> bool:
        assert self.process.poll() is None, self.process.stderr.read().decode()
        try:
            return httpx.get(f"{self.url}/api/ping", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def status(self) -> dict:
        return httpx.get(f"{self.url}/api/status", timeout=10).json()

    def stop(self, sig: int = signal.SIGTERM) -> float:
        """Send ``sig`` and wait for the process to end; the seconds it took (its log: ``log()``)."""
        started = time.monotonic()
        self.process.send_signal(sig)
        _, err = self.process.communicate(timeout=30)  # reading its stderr all along: a full pipe never holds it
        self._log = err.decode(errors="replace")
        return time.monotonic() - started

    def log(self) -> str:
        """What the stopped process wrote to stderr."""
        return self._log

    def kill(self) -> None:
        """End the process if it still runs (a fixture's teardown)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.communicate()
