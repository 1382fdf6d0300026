"""Push webhooks from GitHub, GitLab, Gitea and Forgejo: a push queues a fetch and a scan.

Each delivery is checked before its body is parsed: the HMAC-SHA256 signature
over the raw body (GitHub's ``X-Hub-Signature-256``; Gitea's and Forgejo's
``X-Gitea-Signature`` / ``X-Forgejo-Signature``) or GitLab's shared token
(``X-Gitlab-Token``), compared in constant time with ``SAWMILL_WEBHOOK_SECRET``.
The answer is immediate; the work is a job. Pushes that arrive while a job
waits join it, and a job whose pushed commits the mirror already has skips the
fetch, so a burst of pushes costs one fetch and one scan.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from app.services.jobs import request_sync
from app.web.api import error_responses
from app.web.edge import read_capped

MAX_BODY = 1024 * 1024  # a push payload is a few KiB; GitHub caps its own at 25 MB, we need far less
NO_COMMIT = "0" * 40  # the "after" of a deleted branch

router = APIRouter(prefix="/api/hooks", tags=["webhooks"])


class HookOut(BaseModel):
    event: str = Field(description="the event the host named (push, ping, ...)")
    queued: bool = Field(description="whether a fetch and scan was queued (or joined)")
    job: int | None = Field(None, description="the job that will fetch and scan, when queued")


HOOK_ERRORS = error_responses(401, 413, 422)


@router.post("/github", response_model=HookOut, status_code=202, responses=HOOK_ERRORS, summary="GitHub push webhook")
async def github(request: Request) -> HookOut:
    body = await _body(request)
    signature = request.headers.get("x-hub-signature-256", "")
    _check(signature.startswith("sha256=") and _signed(request, body, signature.removeprefix("sha256=")))
    return await _handle(request, "github", request.headers.get("x-github-event", ""), body)


@router.post("/gitlab", response_model=HookOut, status_code=202, responses=HOOK_ERRORS, summary="GitLab push webhook")
async def gitlab(request: Request) -> HookOut:
    body = await _body(request)
    token = request.headers.get("x-gitlab-token", "")
    _check(bool(token) and hmac.compare_digest(token.encode("latin-1", "replace"), _secret(request)))
    event = request.headers.get("x-gitlab-event", "")
    return await _handle(request, "gitlab", "push" if event in ("Push Hook", "Tag Push Hook") else event, body)


@router.post(
    "/gitea", response_model=HookOut, status_code=202, responses=HOOK_ERRORS, summary="Gitea or Forgejo push webhook"
)
async def gitea(request: Request) -> HookOut:
    body = await _body(request)
    signature = request.headers.get("x-forgejo-signature") or request.headers.get("x-gitea-signature", "")
    _check(bool(signature) and _signed(request, body, signature))
    event = request.headers.get("x-forgejo-event") or request.headers.get("x-gitea-event", "")
    return await _handle(request, "gitea", event, body)


async def _body(request: Request) -> bytes:
    """The raw body, refused (413) past MAX_BODY before it is all read."""
    return await read_capped(request, MAX_BODY, f"a webhook body is at most {MAX_BODY // 1024} KiB")


def _secret(request: Request) -> bytes:
    secret = request.app.state.settings.webhook_secret
    if secret is None or not secret.get_secret_value():
        raise HTTPException(401, "webhooks are off: set SAWMILL_WEBHOOK_SECRET on the server and in the hook")
    return secret.get_secret_value().encode()


def _signed(request: Request, body: bytes, signature: str) -> bool:
    expected = hmac.new(_secret(request), body, hashlib.sha256).hexdigest()
    # compared as bytes: a header may carry any byte (read as latin-1), and compare_digest refuses non-ASCII text
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode("latin-1", "replace"))


def _check(valid: bool) -> None:
    if not valid:
        raise HTTPException(401, "missing or bad webhook signature: nothing was queued")


async def _handle(request: Request, host: str, event: str, body: bytes) -> HookOut:
    if event != "push":
        return HookOut(event=event or "unknown", queued=False)  # ping and every other event: acknowledged, ignored
    payload = _payload(body)
    ref, after = payload.get("ref"), payload.get("after")
    want = {ref: after} if isinstance(ref, str) and isinstance(after, str) and after != NO_COMMIT else {}
    # the queue write is blocking database work: off the event loop
    job, _new = await run_in_threadpool(request_sync, request.app.state.settings, f"webhook:{host}", want=want)
    return HookOut(event="push", queued=True, job=job.id)


def _payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, nested too deeply, a number too long to read
        raise HTTPException(422, "the push payload is not JSON (set the hook's content type to application/json)") from None
    if not isinstance(payload, dict):
        raise HTTPException(422, "the push payload is not a JSON object")
    return payload
