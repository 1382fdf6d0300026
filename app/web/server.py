"""Run the dashboard under uvicorn (``sawmill serve``)."""

from __future__ import annotations

import uvicorn

from app.config import Settings
from app.web.main import create_app


def run_server(settings: Settings) -> None:
    """Serve until interrupted; the database must already be migrated."""
    app = create_app(settings)
    # uvicorn[standard] picks uvloop and httptools when present (plain h11
    # stalls keep-alive requests on this kind of machine).
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", proxy_headers=False)
