"""The vendored front end: pinned htmx and Pico, their licences, their hashes, and no CDN anywhere."""

from __future__ import annotations

import hashlib
import re

from app.web.render import STATIC, TEMPLATES

VENDOR = STATIC / "vendor"
ROOT = STATIC.parent


def pinned_hashes() -> dict[str, str]:
    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    return {path: digest for digest, path in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, re.M)}


def test_htmx_4_0_1_and_pico_2_1_1_are_vendored_unchanged_with_their_licences() -> None:
    hashes = pinned_hashes()
    assert set(hashes) == {"htmx/htmx.min.js", "pico/pico.min.css", *API_DOCS}
    for path, digest in hashes.items():
        assert hashlib.sha256((VENDOR / path).read_bytes()).hexdigest() == digest, path
    assert '"4.0.1"' in (VENDOR / "htmx/htmx.min.js").read_text(encoding="utf-8")
    assert (VENDOR / "pico/pico.min.css").read_text(encoding="utf-8")[:200].count("Pico CSS ✨ v2.1.1") == 1
    assert "Zero-Clause BSD" in (VENDOR / "htmx/LICENSE").read_text(encoding="utf-8")
    assert (VENDOR / "pico/LICENSE.md").read_text(encoding="utf-8").startswith("MIT License")


API_DOCS = ("swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css", "redoc/redoc.standalone.js")


def test_swagger_ui_5_35_0_and_redoc_2_5_4_for_the_api_docs_with_their_licences() -> None:
    assert "5.35.0" in (VENDOR / "swagger-ui/swagger-ui-bundle.js").read_text(encoding="utf-8")
    assert '"2.5.4"' in (VENDOR / "redoc/redoc.standalone.js").read_text(encoding="utf-8")
    assert "Apache License" in (VENDOR / "swagger-ui/LICENSE").read_text(encoding="utf-8")
    assert (VENDOR / "swagger-ui/NOTICE").read_text(encoding="utf-8").startswith("swagger-ui")
    assert "The MIT License" in (VENDOR / "redoc/LICENSE").read_text(encoding="utf-8")


def test_every_page_loads_its_scripts_and_styles_from_static_only() -> None:
    base = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    assert '<script src="{{ static_url("vendor/htmx/htmx.min.js") }}" defer></script>' in base
    assert '<link rel="stylesheet" href="{{ static_url("vendor/pico/pico.min.css") }}">' in base
    remote = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|@import|url\(\s*["']?(?:https?:)?//""", re.I)
    sources = [*TEMPLATES.rglob("*.html"), STATIC / "app.css", *(ROOT / "app" / "web").glob("*.py")]
    for path in sources:
        for line in path.read_text(encoding="utf-8").splitlines():
            assert not remote.search(line), f"{path.relative_to(ROOT)}: {line.strip()}"
    for name in ("unpkg", "jsdelivr", "cdnjs", "googleapis"):
        for path in sources:
            assert name not in path.read_text(encoding="utf-8").lower(), f"{path.relative_to(ROOT)} names {name}"
