"""Pin and unpin a migration entry from the document page: plain form posts, 303 back to the page.

The CLI and the API (``app.web.api_progress``) pin through the same store
functions; here a person does it in the browser, with or without JavaScript.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import Response

from app.store.errors import Invalid
from app.store.progress_sync import pin_entry, unpin_entry
from app.web.auth import WriterDep, page_router
from app.web.deps import HtmxDep, Id, SessionDep
from app.web.errors import form_view
from app.web.planning import document_context, written

router = page_router()
FormText = Annotated[str, Form()]
PAGE = ("document.html", "entries", document_context)


def _pin_key(request: Request) -> str:
    return f"pin-{request.path_params['entry_id']}"


PIN_FORM = Depends(form_view(*PAGE, _pin_key))


@router.post("/document/entries/{entry_id}/pin", include_in_schema=False, dependencies=[PIN_FORM])
def entry_pin(
    request: Request, entry_id: Id, session: SessionDep, who: WriterDep, htmx: HtmxDep,
    reason: FormText = "", until: FormText = "", done: FormText = "true",
) -> Response:  # fmt: skip
    if done not in ("true", "false"):
        raise Invalid("the tick a pin holds is ticked or unticked", field="done")
    pin_entry(session, entry_id, reason, who.name, until=_day(until), done=done == "true")
    return written(request, session, htmx, f"/document#entry-{entry_id}", *PAGE)


@router.post("/document/entries/{entry_id}/unpin", include_in_schema=False, dependencies=[PIN_FORM])
def entry_unpin(request: Request, entry_id: Id, session: SessionDep, who: WriterDep, htmx: HtmxDep) -> Response:
    unpin_entry(session, entry_id, who.name)
    return written(request, session, htmx, f"/document#entry-{entry_id}", *PAGE)


def _day(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"'{value.strip()}' is not a date (YYYY-MM-DD)", field="until") from None
