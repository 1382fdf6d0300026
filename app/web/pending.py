"""A form sent before signing in: sign in, and get the form back, filled, to send again.

Without JavaScript, a signed-out visitor who types a note and presses Resolve
posts the form itself. Instead of a dead end (a sign-in link back to a POST
address), the 401 answer is the sign-in form, carrying the pending form as
hidden fields: which page it lives on (its ``form_view``), which form there,
and what was typed. After a good sign-in the page is drawn with the form
filled and a word beside it; nothing is stored until the person sends it again
(with the CSRF token of the new session). A sign-in that fails keeps carrying it.

Where a form has no ``form_view``, the sign-in returns to the page the post
came from (the same-site ``Referer``), never to the POST address.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from app.web.auth import CSRF_FIELD, Identity
from app.web.errors import FORM_PAGES, FormView, Problem, _shows, page_number
from app.web.render import referer_page, render

log = logging.getLogger("sawmill.web")

PREFIX = "pending."  # a carried field's name in the sign-in form
MAX_FIELDS = 20
MAX_VALUE = 20_000  # characters: a long note survives, a flood does not
_KEY = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


@dataclass(frozen=True)
class Pending:
    template: str  # a page that holds forms (errors.FORM_PAGES)
    key: str  # which form on it ("resolve-3")
    values: dict[str, str]
    page: int = 1  # of a paged list: the page the form was on

    def fields(self) -> list[tuple[str, str]]:
        """The hidden inputs that carry it through the sign-in form."""
        carried = [("pending_template", self.template), ("pending_key", self.key)]
        if self.page > 1:
            carried.append(("pending_page", str(self.page)))
        return carried + [(PREFIX + name, value) for name, value in self.values.items()]


def from_form_view(form: FormView | None) -> Pending | None:
    if form is None or form.template not in FORM_PAGES:
        return None
    values = {k: v for k, v in form.values.items() if k != CSRF_FIELD}  # the new session brings its own
    return _checked(form.template, form.key, values, form.page)


async def from_signin(request: Request) -> Pending | None:
    """The pending form the sign-in form carried, if any (and if it is one Sawmill draws)."""
    form = await request.form()
    values = {k.removeprefix(PREFIX): v for k, v in form.items() if k.startswith(PREFIX) and isinstance(v, str)}
    template, key, page = form.get("pending_template"), form.get("pending_key"), form.get("pending_page")
    if not isinstance(template, str) or not isinstance(key, str):
        return None
    return _checked(template, key, values, page_number(page if isinstance(page, str) else None))


def _checked(template: str, key: str, values: dict[str, str], page: int) -> Pending | None:
    if template not in FORM_PAGES or not _KEY.match(key) or len(values) > MAX_FIELDS:
        return None
    return Pending(template, key, {k[:80]: v[:MAX_VALUE] for k, v in values.items()}, page)


async def declared_form(request: Request) -> FormView | None:
    """The form the matched route declares (``form_view``), read now if the 401 came before
    its turn (``page_reader`` runs first when reads need a sign-in)."""
    form = getattr(request.state, "form", None)
    if form is not None:
        return form
    dependant = getattr(request.scope.get("route"), "dependant", None)
    for dependency in getattr(dependant, "dependencies", []):
        if getattr(dependency.call, "declares_form", False):
            try:
                return await dependency.call(request)
            except Exception:  # a body that is not a form: nothing to carry
                return None
    return None


def return_page(request: Request, pending: Pending | None) -> str:
    """Where to go after signing in when the form cannot be drawn again: the page the post
    came from (same site only), else the form's page, else the overview."""
    page = referer_page(request)
    if page is not None:
        return page
    if pending is not None:
        page = "/" if pending.template == "overview.html" else "/" + pending.template.removesuffix(".html")
        return page + (f"?page={pending.page}" if pending.page > 1 else "")
    return "/"


async def signin_instead(request: Request, problem: Problem) -> Response:
    """The 401 answer to a browser's form post: the sign-in form, carrying the post."""
    from app.web.auth import _signin_form

    pending = from_form_view(await declared_form(request))
    notice = "Sign in to finish: what you sent is kept, and shown again to send once you are signed in."
    context = {"next": return_page(request, pending), "error": None, "identity": None, "pending": pending,
               "notice": notice if pending else problem.message}  # fmt: skip
    return _signin_form(request, context, status_code=401)


def form_again(request: Request, identity: Identity, pending: Pending) -> Response | None:
    """The pending form's page, drawn for the person just signed in, the form filled;
    None when that form is no longer on the page (someone moved its item meanwhile)."""
    from app.store.db import session_scope

    request.scope["sawmill_identity"] = identity  # its CSRF token goes into the forms drawn
    state = request.app.state
    message = f"Signed in as {identity.name}. Nothing is saved yet: check it and send it again."
    try:
        with session_scope(state.settings.database_url, state.repository) as session:
            context = FORM_PAGES[pending.template](session, pending.page)
        context["values"] = {pending.key: pending.values}
        context["errors"] = {pending.key: {"_form": message}}
        response = render(request, pending.template, context)
    except Exception:  # the sign-in itself worked: never lose it to the page drawn after
        log.error("cannot draw the pending form of %s", pending.template, exc_info=True)
        return None
    return response if _shows(response, Problem(200, message)) else None
