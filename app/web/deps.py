"""Dependency aliases, so a route's signature says what it needs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi import Path as PathParam
from sqlmodel import Session

from app.config import Settings
from app.store.db import session_scope
from app.web.render import is_htmx


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(request: Request, settings: SettingsDep) -> Iterator[Session]:
    """One session per request, bound to the tracked repository; committed when the route
    returns, rolled back on error."""
    with session_scope(settings.database_url, request.app.state.repository) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
HtmxDep = Annotated[bool, Depends(is_htmx)]
# The store's integers are 32-bit on PostgreSQL (64-bit on SQLite): a larger id or version
# from a client must be a 422, never a database error. A write stores version + 1.
MAX_ID = 2**31 - 1
MAX_VERSION = MAX_ID - 1
Id = Annotated[int, PathParam(ge=1, le=MAX_ID)]
