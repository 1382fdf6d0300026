"""The web app: pages (HTML + htmx fragments), the JSON API, static files."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.config import Settings, get_settings
from app.web import api, api_next, api_progress, api_reports, errors, health, hooks, log, pages, planning
from app.web.auth import auth_router, install_auth
from app.services.repos import repository_key
from app.store.db import session_scope
from app.store.scope import adopt
from app.store.tokens import ensure_admin_token
from app.services.worker import Worker
from app.web import assets
from app.web.compress import Compress
from app.web import docs_pages
from app.web import assistant
from app.web import document_pins, history_page
from app.web.edge import Edge


@asynccontextmanager
async def _worker_lifespan(app: FastAPI):
    """The background worker runs while the server does (when there is a repository to track)."""
    settings = app.state.settings
    worker = Worker(settings) if settings.repo and settings.worker else None
    if worker:
        worker.start()
    app.state.worker = worker
    try:
        yield
    finally:
        if worker:
            worker.stop()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app over ``settings`` (the environment's by default).

    The database must already be migrated: ``sawmill serve`` and the test
    fixtures run Alembic first; the app never creates tables.
    """
    settings = settings or get_settings()
    app = FastAPI(title="Sawmill", version="0.1.0", lifespan=_worker_lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.repository = repository_key(settings.repo)
    if app.state.repository is not None:  # a document imported before any scan belongs to the repository served
        with session_scope(settings.database_url, app.state.repository) as session:
            adopt(session, app.state.repository)
    if settings.admin_token is not None:  # the first sign-in needs no shell: the Secret's token is `admin`
        with session_scope(settings.database_url) as session:
            ensure_admin_token(session, settings.admin_token.get_secret_value())
    errors.install(app)
    install_auth(app, app.state.settings)
    # static files from memory under content-hashed names, and gzip for text answers (app.web.assets)
    app.add_route("/static/{name:path}", assets.load().serve, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_middleware(Compress)
    # Routes are matched in order, one after the other (twice a request), at a few microseconds
    # each: the reads answered from memory come first, the overview and module pages (what the
    # live view polls), /api/status and the badges, the other pages; then what writes, and the rest.
    # With SAWMILL_READ_REQUIRES_SIGNIN, every page sends an anonymous visitor to /signin (auth.page_router).
    # /modules/{path}/draft before the module page, whose {path:path} would take it
    app.include_router(assistant.router)
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(api.badge_router)
    app.include_router(planning.reads)
    app.include_router(log.router)
    app.include_router(history_page.router)
    app.include_router(api_next.router)
    app.include_router(api_reports.router)
    app.include_router(auth_router)
    app.include_router(planning.router)
    app.include_router(document_pins.router)
    app.include_router(api_progress.router)
    app.include_router(hooks.router)
    app.include_router(health.router)
    app.include_router(docs_pages.router)  # /docs and /redoc from static/vendor
    app.add_middleware(Edge, settings=settings)  # outermost of ours: headers, body limits, identity first
    return app
