"""Which repository Sawmill tracks: a local path or a git URL, and the key the store files it under."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.services.mirror import is_url, mirror_path, public_url


@dataclass(frozen=True)
class Tracked:
    """A tracked repository. ``key`` names it in the store, the pages and the API:
    a URL without credentials, or an absolute path. ``url`` is set for a remote one,
    scanned through Sawmill's own bare mirror under the data folder."""

    key: str
    url: str | None = None
    path: Path | None = None  # a local repository's folder

    @property
    def remote(self) -> bool:
        return self.url is not None

    def local(self, data_dir: Path) -> Path:
        """The folder git reads: the repository itself, or its mirror."""
        return mirror_path(data_dir, self.url) if self.url else self.path  # type: ignore[return-value]


def tracked(source: str | Path) -> Tracked:
    """The repository ``source`` names (a path or a git URL)."""
    text = str(source)
    if is_url(text):
        return Tracked(key=public_url(text), url=text)
    path = Path(text).expanduser().resolve()
    return Tracked(key=str(path), path=path)


@lru_cache(maxsize=64)
def repository_key(source: str | Path | None) -> str | None:
    """The store key of the repository ``source`` names; None when there is none
    (a session then binds to the store's current repository)."""
    return tracked(source).key if source else None


def repo_on_disk(repo: str | Path | None, data_dir: Path, repository: str | None) -> Path | None:
    """The folder git can read for the tracked repository (``repo``, SAWMILL_REPO), or for the
    store's ``repository`` key when it is a folder (scanned by ``sawmill scan PATH``); else None."""
    if repo:
        return tracked(repo).local(data_dir)
    if repository and not is_url(repository) and Path(repository).is_dir():
        return Path(repository)
    return None
