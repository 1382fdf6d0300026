"""Sign in through the form as a browser does: the page first, for its pre-session CSRF token."""

from __future__ import annotations

import re


def post_signin(client, data: dict, headers: dict | None = None):
    """POST /signin with ``data`` and the token the sign-in page carries (its cookie is in ``client``)."""
    page = client.get("/signin").text
    token = re.search(r'name="signin_csrf" value="([^"]+)"', page).group(1)
    return client.post("/signin", data={"signin_csrf": token, **data}, headers=headers or {})
