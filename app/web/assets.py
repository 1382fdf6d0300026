"""Static files from memory, under content-hashed names, gzipped once at start-up.

Every file under ``static/`` is read once per process and answered under two
names: ``/static/app.css`` (a short cache: a link from outside, a bookmark) and
``/static/app.<hash>.css``, which templates use through ``static_url`` and
which is cached for a year as ``immutable``: a new file is a new name, so a
browser never asks again and never holds a stale stylesheet. Text files are
gzipped at load, not per request; each encoding has its own strong ETag.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

ROOT = Path(__file__).resolve().parents[2] / "static"
PREFIX = "/static/"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"  # an unhashed name may hold new content after an upgrade
DIGEST = 10  # hex characters of the content hash in a name
COMPRESSIBLE = ("text/", "application/json", "application/javascript", "image/svg+xml")


@dataclass
class Asset:
    body: bytes
    media_type: str
    digest: str
    gzipped: bytes | None = None  # None: not text, or gzip would not be smaller
    _answers: dict[tuple[bool, bool, bool], Response] = field(default_factory=dict, repr=False)

    def answer(self, immutable: bool, gzipped: bool, not_modified: bool) -> Response:
        """A ready-made response per variant: Starlette responses are not changed by sending them."""
        key = (immutable, gzipped, not_modified)
        if key not in self._answers:
            headers = {
                "ETag": f'"{self.digest}-gzip"' if gzipped else f'"{self.digest}"',
                "Cache-Control": IMMUTABLE if immutable else SHORT,
                "Vary": "Accept-Encoding",
            }
            if not_modified:
                self._answers[key] = Response(status_code=304, headers=headers)
            else:
                if gzipped:
                    headers["Content-Encoding"] = "gzip"
                body = self.gzipped if gzipped and self.gzipped is not None else self.body
                self._answers[key] = Response(body, media_type=self.media_type, headers=headers)
        return self._answers[key]


@dataclass
class Assets:
    """The files of one folder: ``names`` maps every served name to (asset, immutable);
    ``hashed`` maps a file's own name to its hashed one."""

    names: dict[str, tuple[Asset, bool]]
    hashed: dict[str, str]

    def url(self, name: str) -> str:
        """``app.css`` -> ``/static/app.1a2b3c4d5e.css``; a name not in the folder is a template bug."""
        try:
            return PREFIX + self.hashed[name]
        except KeyError:
            raise LookupError(f"no static file {name!r}") from None

    async def serve(self, request: Request) -> Response:
        from app.web.api import _matches  # the app's one If-None-Match rule (api imports the templates, so here)

        found = self.names.get(request.path_params["name"])
        if found is None:
            raise HTTPException(404, f"no static file {request.path_params['name']}")
        asset, immutable = found
        gzipped = asset.gzipped is not None and accepts_gzip(request.headers.get("accept-encoding", ""))
        match = request.headers.get("if-none-match")
        etag = f'"{asset.digest}-gzip"' if gzipped else f'"{asset.digest}"'
        return asset.answer(immutable, gzipped, bool(match) and _matches(match, etag))


def hashed_name(name: str, digest: str) -> str:
    """``vendor/pico/pico.min.css`` -> ``vendor/pico/pico.min.<digest>.css``."""
    path = PurePosixPath(name)
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))


def load_asset(path: Path) -> Asset:
    body = path.read_bytes()
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    asset = Asset(body, media_type, hashlib.blake2b(body, digest_size=16).hexdigest()[:DIGEST])
    if media_type.startswith(COMPRESSIBLE):
        packed = gzip.compress(body, compresslevel=9, mtime=0)  # once per process: the best level is affordable
        asset.gzipped = packed if len(packed) < len(body) else None
    return asset


@lru_cache(maxsize=4)
def load(folder: Path = ROOT) -> Assets:
    """Every file under ``folder`` (hidden ones aside), read and hashed once per process."""
    names: dict[str, tuple[Asset, bool]] = {}
    hashed: dict[str, str] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in name.split("/")):
            continue
        asset = load_asset(path)
        hashed[name] = hashed_name(name, asset.digest)
        names[name] = (asset, False)
        names[hashed[name]] = (asset, True)
    return Assets(names, hashed)


def static_url(name: str) -> str:
    """The hashed URL of ``static/<name>``: what templates link to."""
    return load().url(name)


def accepts_gzip(header: str) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (``gzip;q=0`` refuses it; ``*`` allows it)."""
    weights: dict[str, float] = {}
    for part in header.lower().split(","):
        coding, *params = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if coding:
            weights[coding] = weight
    return weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0))) > 0
