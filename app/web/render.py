"""Render a page, or for htmx a named block of the same template.

A fragment is never a separate template: the route names a ``{% block %}`` of
its page and htmx requests get just that block, rendered with the same
context. So a fragment cannot drift from its page, and every page still works
without JavaScript.
"""

from __future__ import annotations

import re

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from markupsafe import Markup

from app.services.forge import Forge, repository_forge
from app.store import backlog, blockers, progress_sync
from app.web.assets import static_url
from app.web.auth import csrf_input, csrf_token, current_identity

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"

# The store's limits on one-line fields, for the forms' maxlength.
LIMITS = {"backlog_text": backlog.MAX_TEXT, "blocker_title": blockers.MAX_TITLE,
          "pin_reason": progress_sync.MAX_PIN_REASON}  # fmt: skip

VARY = "HX-Request, Cookie"  # a fragment is not its page; a page shows who is signed in

STATUS_LABELS = {
    "untested": "untested",
    "legacy": "legacy",
    "in_progress": "in progress",
    "migrated": "migrated",
}


# characters that reorder or hide the text around them (bidi controls, C0/C1 controls but tab and
# line ends): escaped HTML still lets them make a name, a step or a script read otherwise than it is
HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(value: object) -> object:
    """What a page prints for ``value``: a text from outside (a module or test name, a script, an
    error) with each hidden character written as its escape (``\u202e``); markup the app built
    itself (``Markup``, a ``str`` subclass) and every other value as they are."""
    if type(value) is str and HIDDEN.search(value):
        return HIDDEN.sub(lambda m: f"\\u{ord(m[0]):04x}", value)
    return value


@lru_cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a missing context key is a bug, not an empty string
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["status_label"] = lambda status: STATUS_LABELS.get(status, status)
    env.filters["short"] = lambda sha: (sha or "")[:8]
    env.filters["without_pr"] = without_pr
    env.filters["when"] = when
    env.filters["visible"] = visible  # where text from outside is shown, never in a form's value
    env.filters["ago"] = clock_phrase(ago)
    env.filters["ago_or_in"] = clock_phrase(ago_or_in)
    # The shared macros are globals, not `{% from %}` imports: a block rendered
    # on its own (an htmx fragment) does not see its template's top-level imports.
    env.globals.update(csrf_input=csrf_input, csrf_token=csrf_token, current_identity=current_identity)
    env.globals["static_url"] = static_url  # every link to static/ names the file by its content
    env.globals.update(commit_link=commit_link, pr_link=pr_link)
    env.globals["limits"] = LIMITS  # a form's maxlength is the store's own limit
    macros = env.get_template("_macros.html").module
    env.globals.update({name: getattr(macros, name) for name in dir(macros) if not name.startswith("_")})
    return env


def is_htmx(request: Request) -> bool:
    """An htmx request that wants a fragment (not a history restore or a full swap)."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-history-restore-request") != "true"
        and headers.get("hx-request-type", "partial") != "full"
    )


def render_html(name: str, context: dict[str, Any], block: str | None = None) -> str:
    template = environment().get_template(name)
    if block is None:
        return template.render(context)
    if block not in template.blocks:
        raise LookupError(f"template {name} has no block {block!r}")
    return "".join(template.blocks[block](template.new_context(context)))


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    block: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The whole page, or only ``block`` when htmx asked for a fragment."""
    shared = {"request": request, "path": request.url.path, "errors": {}, "values": {}, "forge": forge_of(request.app),
              "signin_next": signin_next(request)}  # fmt: skip
    context = {**shared, **context}
    fragment = block if block and is_htmx(request) else None
    response = HTMLResponse(render_html(name, context, fragment), status_code=status_code)
    response.headers["Vary"] = VARY
    return response


def referer_page(request: Request) -> str | None:
    """The page of this site the request came from (its ``Referer``), if any."""
    try:
        referer = urlsplit(request.headers.get("referer", ""))
    except ValueError:  # "http://[": not an address at all
        return None
    if (referer.scheme, referer.netloc) != (request.url.scheme, request.url.netloc):
        return None  # another site's page, or none: never a destination
    page = referer.path + (f"?{referer.query}" if referer.query else "")
    if not page.startswith("/") or page.startswith(("//", "/signin")) or "\\" in page:
        return None
    return page


def signin_next(request: Request) -> str:
    """Where a sign-in link on this answer leads back to: a page, never a POST's address."""
    if request.method in ("GET", "HEAD"):
        return request.url.path
    return referer_page(request) or "/"


def forge_of(app) -> Forge | None:
    """Where the tracked repository's commits and pull requests are on the web, worked out once."""
    state = app.state
    if not hasattr(state, "forge"):
        settings = getattr(state, "settings", None)
        state.forge = repository_forge(settings.repo, settings.web_url, settings.forge) if settings else None
    return state.forge


@pass_context
def commit_link(context, sha: str | None, title: str | None = None) -> Markup:
    """A commit's short sha, linked to its page when the forge is known (the context's ``forge``)."""
    forge = context.get("forge")
    code = Markup('<code{}>{}</code>').format(Markup(' title="{}"').format(title) if title else "", (sha or "")[:8])
    if not forge or not sha:
        return code
    return Markup('<a class="sha" href="{}">{}</a>').format(forge.commit(sha), code)


def without_pr(subject: str, number: int | str | None) -> str:
    """A commit subject without its squash-merge suffix `` (#1010)`` when the PR is linked beside it."""
    suffix = f" (#{number})"
    return subject[: -len(suffix)] if number and subject.endswith(suffix) else subject


@pass_context
def pr_link(context, number: int | str) -> Markup:
    """``#1010``, linked to the pull request when the forge is known."""
    forge = context.get("forge")
    href = forge.pull(number) if forge else None
    text = Markup("#{}").format(number)
    return Markup('<a class="pr" href="{}">{}</a>').format(href, text) if href else text


def clock_phrase(phrase):
    """``phrase`` as a filter. In a page rendered for the page cache (its context holds
    ``slots``) the phrase is left as a slot, worked out again on every request, so a page
    served from memory never says "in 7 seconds" for long (see ``app.web.page_cache``)."""

    @pass_context
    def apply(context, value: datetime | None) -> str:
        slots = context.get("slots")
        return phrase(value) if slots is None else slots.clock(phrase, value)

    return apply


def when(value: datetime | None) -> str:
    if value is None:
        return "never"
    if value.tzinfo is None:  # SQLite hands back naive datetimes; they were stored as UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "never"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def ago_or_in(value: datetime | None, now: datetime | None = None) -> str:
    """"in 3 minutes" for a time ahead, "now" when it is due, else like ``ago``."""
    if value is None:
        return "never"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = int((value - (now or datetime.now(UTC))).total_seconds())
    if seconds <= 0:
        return "now"
    for unit, size in (("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size:
            count = seconds // size
            return f"in {count} {unit}{'s' if count != 1 else ''}"
    return "now"
