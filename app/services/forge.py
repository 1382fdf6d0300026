"""Links to the tracked repository's web pages: a commit, a pull request.

The web address comes from ``SAWMILL_WEB_URL`` when set, else from the git
remote: the URL Sawmill tracks (its mirror's origin), or a local clone's
``origin``. ``forge_for`` turns a remote into a ``Forge``, a pure function;
``repository_forge`` is the one place that reads a clone's remote from git.

    >>> forge_for("git@github.com:org/platform.git").commit("4f3c2a1")
    'https://github.com/org/platform/commit/4f3c2a1'
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

# Where each kind of forge shows a commit and a pull (merge) request, below the repository's page.
PATTERNS = {
    "github": ("commit/{sha}", "pull/{number}"),
    "gitlab": ("-/commit/{sha}", "-/merge_requests/{number}"),
    "gitea": ("commit/{sha}", "pulls/{number}"),  # Forgejo (Codeberg) too
    "bitbucket": ("commits/{sha}", "pull-requests/{number}"),
}
KINDS = (*PATTERNS, "forgejo")

# Host names that say which forge they are; a self-hosted one sets SAWMILL_FORGE.
_HOSTS = (("github", "github"), ("gitlab", "gitlab"), ("gitea", "gitea"), ("forgejo", "gitea"),
          ("codeberg", "gitea"), ("bitbucket", "bitbucket"))  # fmt: skip
_SCP_LIKE = re.compile(r"^(?:[^@/:\s]+@)?(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*):(?P<path>[^\s:/][^\s]*)$")


@dataclass(frozen=True)
class Forge:
    base: str  # the repository's page, e.g. https://github.com/org/platform
    kind: str | None  # a key of PATTERNS; None when the host does not say

    def commit(self, sha: str) -> str:
        # An unknown forge: /commit/<sha> is the path GitHub, Gitea and Forgejo share.
        pattern = PATTERNS[self.kind][0] if self.kind else "commit/{sha}"
        return f"{self.base}/{pattern.format(sha=sha)}"

    def pull(self, number: int | str) -> str | None:
        """The pull request's page; None for an unknown forge (their paths differ)."""
        if not self.kind:
            return None
        return f"{self.base}/{PATTERNS[self.kind][1].format(number=number)}"


def forge_for(remote: str | None, web_url: str | None = None, kind: str | None = None) -> Forge | None:
    """The forge of ``remote`` (a git URL: https, ssh, scp-like ``git@host:org/repo``, git://),
    or of ``web_url`` when given; ``kind`` (SAWMILL_FORGE) names the forge when the host
    name does not. None for a local path or anything without a host."""
    base = _web_base(web_url) if web_url else _web_base(remote or "")
    if base is None:
        return None
    kind = "gitea" if kind == "forgejo" else kind
    return Forge(base, kind or _kind_of(urlsplit(base).hostname or ""))


def _web_base(remote: str) -> str | None:
    remote = remote.strip()
    scp = _SCP_LIKE.match(remote) if "://" not in remote else None
    if scp:
        scheme, host, path = "https", scp["host"], scp["path"]
    else:
        try:
            parts = urlsplit(remote)
            port = parts.port
        except ValueError:  # "http://[", "https://host:port/": no address to link to
            return None
        if parts.scheme not in ("http", "https", "ssh", "git", "git+ssh", "ssh+git") or not parts.hostname:
            return None
        # Only a web address keeps its scheme and port; an ssh or git port is not the web's.
        web = parts.scheme in ("http", "https")
        scheme = parts.scheme if web else "https"
        host = parts.hostname + (f":{port}" if web and port else "")
        path = parts.path
    path = path.strip("/").removesuffix(".git").strip("/")
    if not path or host.startswith("-"):
        return None
    return f"{scheme}://{host.lower()}/{path}"


def _kind_of(host: str) -> str | None:
    host = host.lower()
    return next((kind for word, kind in _HOSTS if word in host), None)


def repository_forge(repo: str | None, web_url: str | None = None, kind: str | None = None) -> Forge | None:
    """The forge of the repository Sawmill tracks (``SAWMILL_REPO``): a URL is its own
    remote; a local clone's is its ``origin``."""
    from app.services.mirror import is_url

    if web_url or not repo:
        return forge_for(None, web_url, kind) if web_url else None
    remote = repo if is_url(repo) else _origin(str(Path(repo).expanduser()))
    return forge_for(remote, None, kind)


def _origin(path: str) -> str | None:
    """A local repository's ``origin`` URL (the app asks once: ``render.forge_of``)."""
    done = subprocess.run(
        ["git", "-C", path, "config", "--get", "remote.origin.url"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    return done.stdout.strip() or None if done.returncode == 0 else None
