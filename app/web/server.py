"""Run the dashboard under uvicorn (``sawmill serve``)."""

from __future__ import annotations

import errno
import socket

import uvicorn

from app.config import Settings
from app.web.main import create_app


def address_problem(host: str, port: int) -> str | None:
    """Why the dashboard cannot listen on ``host:port``, in one line, or None.

    Checked before uvicorn starts: uvicorn only logs a bind failure and exits 3,
    which reads like a crash to someone who ran ``make run`` twice.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror:
        return f"cannot listen on {host}: no such address"
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is already in use: stop what runs there or pick another with --port (make run PORT=...)"
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None


def run_server(settings: Settings) -> None:
    """Serve until interrupted; the database must already be migrated."""
    app = create_app(settings)
    # uvicorn[standard] picks uvloop and httptools when present (plain h11
    # stalls keep-alive requests on this kind of machine). Forwarded headers are the
    # app's to judge (app.web.edge, from SAWMILL_TRUSTED_PROXIES only): uvicorn's own
    # would trust 127.0.0.1 by default and hide the address that connected.
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", proxy_headers=False)
