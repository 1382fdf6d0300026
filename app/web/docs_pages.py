"""/docs (Swagger UI) and /redoc from the vendored copies under static/vendor, never a CDN:
they work offline and load no unpinned script into the app's origin.

FastAPI writes both pages; Swagger UI's starts itself with an inline script, allowed by
its hash in the page's own Content-Security-Policy (the edge adds the strict one to
every other answer). Both draw their styles at run time, so only these two pages allow
inline styles; Redoc's search runs in a worker made from a blob: URL.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from app.web.edge import csp_hash, policy

VENDOR = "/static/vendor"
ICON = "/static/favicon.svg"

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} API",
        swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
        swagger_favicon_url=ICON,
    )
    return _with_policy(page)


@router.get("/redoc", response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    page = get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} API",
        redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
        redoc_favicon_url=ICON,
        with_google_fonts=False,
    )
    return _with_policy(page)


def _with_policy(page: HTMLResponse) -> HTMLResponse:
    html = page.body.decode()
    inline = re.findall(r"<script>(.*?)</script>", html, re.S)
    scripts = " ".join(["'self'", *(csp_hash(text) for text in inline)])
    page.headers["Content-Security-Policy"] = policy(script=scripts, style="'self' 'unsafe-inline'") + "; worker-src 'self' blob:"
    return page
