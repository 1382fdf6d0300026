"""One error handler for the whole app, answering in the format the client asked for.

- API clients (paths under ``/api``, or ``Accept: application/json``) get one
  fixed JSON shape: ``{"error": {"status", "message", "field"}}``.
- A form post that breaks a rule (422) or lost a race (409) gets its page
  again, the message beside the field (or above the form), nothing stored:
  the route declared its form with ``form_view`` so the handler knows which
  page and which form to draw.
- Anything else gets a small HTML page (404, 405, ...), or for htmx a flash
  message swapped into the page's ``#flash`` slot. Never a traceback.
- A database that cannot be reached (down, restarting, refusing) is a 503
  with ``Retry-After`` and a message that says so, not a 500.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import escape
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.services.repos import repository_key
from app.store.db import session_scope
from app.store.errors import Busy, Invalid, StoreError, one_line
from app.store.turns import transient
from app.web.render import is_htmx, render, render_html

log = logging.getLogger("sawmill.web")

UNREACHABLE = "The database cannot be reached right now; try again in a moment."
RETRY_UNREACHABLE = "5"  # seconds: a restarting database, or a failover, takes about that
# PostgreSQL's connection exceptions (class 08), and a server shutting down or starting up
UNREACHABLE_STATES = ("08", "57P01", "57P02", "57P03")

TITLES = {400: "Bad request", 401: "Sign in needed", 403: "Not allowed", 404: "Page not found",
          405: "Method not allowed", 409: "Conflict", 413: "Too large", 422: "Invalid input", 429: "Too many requests",
          500: "Something went wrong", 503: "Busy"}  # fmt: skip


# Builds a form's page: from the store, and the page number of a paged list (1 when not paged).
PageBuilder = Callable[[Session, int], dict[str, Any]]

# The pages that hold forms, by template, with the function that builds each one's context.
FORM_PAGES: dict[str, PageBuilder] = {}


@dataclass
class FormView:
    """The page a form lives on, so an error can redraw it with the message in place."""

    template: str
    block: str | None
    build: PageBuilder
    key: str
    values: dict[str, str] = field(default_factory=dict)
    page: int = 1  # of a paged list (``?page=N``): the form is redrawn on the page it was sent from

    def context(self, session: Session) -> dict[str, Any]:
        return self.build(session, self.page)


def page_number(value: str | None) -> int:
    """A ``?page=N`` value; 1 when absent or not a number."""
    # ASCII digits only: "²" is a digit to str.isdigit but not a number to int
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 10 else 1


def form_view(
    template: str,
    block: str | None,
    build: Callable[..., dict[str, Any]],
    key: str | Callable[[Request], str] = "form",
    paged: bool = False,
):
    """A route dependency declaring the form it handles.

    ``key`` names the form on the page (a page may hold one resolve form per
    blocker); the template finds its errors under ``errors[key]`` and the
    submitted values under ``values[key]``. A ``paged`` page is one page of a
    list: ``build(session, page)`` draws the page named by the post's ``?page=N``;
    otherwise ``build(session)``.
    """

    drawn: PageBuilder = build if paged else lambda session, _page: build(session)
    FORM_PAGES[template] = drawn  # a form sent before signing in is drawn again from here (app.web.pending)

    async def declare(request: Request) -> FormView:
        form = await request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        name = key(request) if callable(key) else key
        page = page_number(request.query_params.get("page")) if paged else 1
        view = FormView(template, block, drawn, name, values, page)
        request.state.form = view
        return view

    declare.declares_form = True  # found on the route by app.web.pending when a 401 came first
    return declare


@dataclass
class Problem:
    status: int
    message: str
    field: str | None = None


def describe(exc: Exception) -> Problem:
    if isinstance(exc, StoreError):
        return Problem(exc.status, exc.message, exc.field if isinstance(exc, Invalid) else None)
    if isinstance(exc, RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            return Problem(422, _bad_json(first))  # no field: its loc holds where the JSON broke
        loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
        name = loc[-1] if loc else None
        message = first.get("msg", "invalid input")
        if first.get("type") == "missing":
            message = "This field is required."
        return Problem(422, message, name)
    if isinstance(exc, StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
        if exc.status_code == 404 and detail == "Not Found":
            detail = "There is no page at this address."
        return Problem(exc.status_code, detail)
    return Problem(500, "Something went wrong on our side; the error was logged.")


def _bad_json(error: dict[str, Any]) -> str:
    """FastAPI's error for a body that is not JSON, in words: what broke, and where."""
    loc, reason = error.get("loc", ()), (error.get("ctx") or {}).get("error")
    where = f" at character {loc[1]}" if len(loc) > 1 and isinstance(loc[1], int) else ""
    return f"the body is not valid JSON{f': {reason}' if reason else ''}{where}"


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_body(problem: Problem) -> dict[str, Any]:
    return {"error": {"status": problem.status, "message": problem.message, "field": problem.field}}


async def handle(request: Request, exc: Exception) -> Response:
    logged = False
    if isinstance(exc, (OperationalError, StaleDataError)) and transient(exc):
        # A form write that lost its race past the store's patience: a 503 to try again, not a 500.
        exc = Busy("the store is busy with other writes; nothing was changed, try again")
    elif unreachable(exc):
        # Not a bug to trace: the operator's log gets the driver's line (host, port), the client a 503.
        log.warning("the database cannot be reached on %s %s: %s", request.method, request.url.path, one_line(exc))
        exc, logged = StarletteHTTPException(503, UNREACHABLE, headers={"Retry-After": RETRY_UNREACHABLE}), True
    problem = describe(exc)
    if problem.status >= 500 and not logged:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    headers = getattr(exc, "headers", None) or {}
    if wants_json(request):
        return JSONResponse(error_body(problem), status_code=problem.status, headers=headers)
    if _in_path(exc):
        problem = Problem(404, describe(StarletteHTTPException(404)).message)
    form: FormView | None = getattr(request.state, "form", None)
    if form is not None and problem.status in (409, 422):
        try:
            again = _form_again(request, form, problem)
            if again is not None:
                return again
        except Exception as failed:  # drawing the form failed too: fall back to the plain page
            log.error("cannot redraw the form on %s", request.url.path, exc_info=failed)
    if problem.status == 401 and request.method not in ("GET", "HEAD") and not is_htmx(request):
        from app.web.pending import signin_instead  # it draws forms with this module's helpers

        # A browser's form post: the sign-in form, carrying the post, never a link back to a POST address.
        response = await signin_instead(request, problem)
        response.headers.update(headers)
        return response
    if is_htmx(request):
        try:
            here = urlsplit(request.headers.get("hx-current-url", "/")).path or "/"
        except ValueError:  # "http://[": not an address at all
            here = "/"
        html = render_html("_flash.html", {"problem": problem, "here": here})
        return HTMLResponse(
            html, status_code=problem.status, headers={**headers, "HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
        )
    context = {"problem": problem, "title": TITLES.get(problem.status, "Error")}
    response = render(request, "error.html", context, status_code=problem.status)
    response.headers.update(headers)
    return response


def unreachable(exc: Exception) -> bool:
    """Whether ``exc`` says the database is not there to talk to (as opposed to a query that failed)."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:  # SQLAlchemy saw the connection drop
        return True
    orig = exc.orig
    state = getattr(orig, "sqlstate", None)
    if type(orig).__module__.startswith("psycopg"):  # no sqlstate: it failed before the server answered
        return isinstance(exc, OperationalError) and (state is None or state.startswith(UNREACHABLE_STATES))
    return isinstance(exc, OperationalError) and "unable to open database file" in str(orig)  # SQLite


def _form_again(request: Request, form: FormView, problem: Problem) -> Response | None:
    """The form's page again with the message in place, or None when the page has no place for it."""
    settings = request.app.state.settings
    with session_scope(settings.database_url, repository_key(settings.repo)) as session:
        context = form.context(session)
    context["values"] = {form.key: form.values}
    context["errors"] = {form.key: {problem.field or "_form": problem.message}}
    response = render(request, form.template, context, block=form.block, status_code=problem.status)
    if problem.field and not _shows(response, problem):
        # The field has no visible input to sit beside (a hidden one): say it above the form instead.
        context["errors"] = {form.key: {"_form": problem.message}}
        response = render(request, form.template, context, block=form.block, status_code=problem.status)
    # The form may be gone from the page (someone else moved its item): then the plain message.
    return response if _shows(response, problem) else None


def _shows(response: Response, problem: Problem) -> bool:
    return str(escape(problem.message)) in response.body.decode()


def _in_path(exc: Exception) -> bool:
    """A bad id in the address itself: for a page that is a page that does not exist."""
    if not isinstance(exc, RequestValidationError) or not exc.errors():
        return False
    return tuple(exc.errors()[0].get("loc", ()))[:1] == ("path",)


def install(app: FastAPI) -> None:
    for kind in (StoreError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(kind, handle)
