"""The "Draft chainsaw test" page of a legacy module, and the patch to download.

Both are drafted from the commit of the last scan, so they agree with the
module page that links to them; the repository is read, never written.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from app.assistant.draft import draft_at, find_module
from app.assistant.model import Draft, DraftError
from app.assistant.snapshot import open_commit
from app.scanner.model import ScanError
from app.services.repos import tracked
from app.store.scans import latest_scan
from app.web.auth import page_router
from app.web.deps import SessionDep, SettingsDep
from app.web.render import render

router = page_router()


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
    context = {"draft": draft, "module_path": path.strip("/"), "ref": ref, "patch_name": patch_name(draft)}
    return render(request, "draft.html", context)


@router.get("/modules/{path:path}/draft.patch", include_in_schema=False)
def draft_patch(path: str, settings: SettingsDep, session: SessionDep) -> Response:
    draft, _ref = drafted(settings, session, path)
    headers = {"Content-Disposition": attachment(patch_name(draft))}
    return Response(draft.patch(), media_type="text/x-diff; charset=utf-8", headers=headers)
