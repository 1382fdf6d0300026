"""The "Draft chainsaw test" page of a legacy module, and the patch to download.

Both are drafted from the commit of the last scan, so they agree with the
module page that links to them; the repository is read, never written.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from app.assistant.draft import draft_at, find_module
from app.assistant.model import Draft, DraftError, DraftFile
from app.assistant.snapshot import open_commit
from app.scanner.model import ScanError
from app.services.repos import tracked
from app.store.scans import latest_scan
from app.web.auth import page_router
from app.web.deps import SessionDep, SettingsDep
from app.web.render import render

router = page_router()
# characters that reorder or hide the text around them (bidi controls, C0/C1 controls but tab and
# line ends): escaped HTML still lets them make a step name or a script read otherwise than it runs
HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def drafted(settings, session, path: str) -> tuple[Draft, str]:
    """The draft for the module at ``path`` in the last scan, and that scan's ref."""
    scan = latest_scan(session)
    if not settings.repo or scan is None:
        raise HTTPException(404, "Nothing scanned yet: a draft is made from the last scan.")
    try:
        with open_commit(tracked(settings.repo).local(settings.data_dir), scan.commit_sha, settings.config) as commit:
            try:
                module = find_module(commit, path, scan.commit_sha[:12])
            except DraftError as exc:
                raise HTTPException(404, str(exc)) from exc
            return draft_at(commit, module), scan.ref
    except DraftError as exc:
        raise HTTPException(409, str(exc)) from exc
    except ScanError as exc:
        raise HTTPException(409, f"The repository cannot be read: {exc}") from exc


def patch_name(draft: Draft) -> str:
    return f"sawmill-draft-{posixpath.basename(draft.modules[0])}.patch"


def attachment(name: str) -> str:
    """A Content-Disposition any module name fits in (RFC 6266): a header is Latin-1, so a name
    outside plain ASCII goes as ``filename*`` in UTF-8 (RFC 5987), after an ASCII ``filename``
    for the clients that read only that one."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    if fallback == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/modules/{path:path}/draft", include_in_schema=False)
def draft_page(request: Request, path: str, settings: SettingsDep, session: SessionDep) -> Response:
    draft, ref = drafted(settings, session, path)
    context = {"draft": shown(draft), "module_path": path.strip("/"), "ref": ref, "patch_name": patch_name(draft)}
    return render(request, "draft.html", context)


def visible(text: str) -> str:
    """``text`` with each character that could hide or reorder what is around it written as its
    escape (``\\u202e``), so the page shows what the patch really holds."""
    return HIDDEN.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def shown(draft: Draft) -> Draft:
    """The draft as the page shows it: every text from the repository visible (the patch downloaded is untouched)."""
    files = [DraftFile(visible(f.path), visible(f.content), None if f.before is None else visible(f.before)) for f in draft.files]
    learned, notes = [visible(line) for line in draft.learned], [visible(line) for line in draft.notes]
    return dataclasses.replace(draft, files=files, learned=learned, notes=notes)


@router.get("/modules/{path:path}/draft.patch", include_in_schema=False)
def draft_patch(path: str, settings: SettingsDep, session: SessionDep) -> Response:
    draft, _ref = drafted(settings, session, path)
    headers = {"Content-Disposition": attachment(patch_name(draft))}
    return Response(draft.patch(), media_type="text/x-diff; charset=utf-8", headers=headers)
