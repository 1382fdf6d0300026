"""The web app: pages (HTML + htmx fragments), the JSON API, static files."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from app.config import Settings, get_settings
from app.web import api, api_progress, errors, pages, planning
from app.web.auth import auth_router, install_auth, page_reader
from app.web.render import STATIC


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app over ``settings`` (the environment's by default).

    The database must already be migrated: ``sawmill serve`` and the test
    fixtures run Alembic first; the app never creates tables.
    """
    app = FastAPI(title="Sawmill", version="0.1.0")
    app.state.settings = settings or get_settings()
    errors.install(app)
    install_auth(app, app.state.settings)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(auth_router)
    app.include_router(api.router)
    app.include_router(api.badge_router)
    app.include_router(api_progress.router)
    # With SAWMILL_READ_REQUIRES_SIGNIN, every page sends an anonymous visitor to /signin.
    app.include_router(pages.router, dependencies=[Depends(page_reader)])
    app.include_router(planning.router, dependencies=[Depends(page_reader)])
    return app
