"""Sawmill's own bare mirror of a repository tracked by URL, and reading refs.

A URL (``https://``, ``http://``, ``ssh://``, ``git://``, ``file://`` or the
scp-like ``git@host:path``) is mirrored under ``<data_dir>/mirrors``: cloned
once with ``git clone --mirror``, then kept current with ``git fetch --prune``.
Sawmill never writes a work tree and never writes a secret to disk:

- the mirror's remote is the URL without credentials (``public_url``), which
  is also the repository's stored name;
- an HTTPS token (given, or found inside the URL) reaches git through the
  environment as an ``http.extraHeader``, never through argv or a config file;
- every message that leaves this module went through ``redact``.

On disk, beside ``<slug>-<hash>.git`` the mirror, live ``.<name>.lock`` (one
fetch at a time per mirror, across processes) and, while a clone is running,
``.<name>.<random>.partial`` folders; a partial folder found later is what a
killed clone left, and is removed before the next fetch.
"""

from __future__ import annotations

import atexit
import base64
import fcntl
import hashlib
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote

logger = logging.getLogger(__name__)

_SCHEME_URL = re.compile(r"^(?P<scheme>https?|ssh|git|file)://", re.IGNORECASE)
# git's own rule: a colon before any slash makes "[user@]host:path" an ssh address
_SCP_LIKE = re.compile(r"^(?:[^@/:\s]+@)?(?:\[[^\]/]+\]|[A-Za-z0-9][A-Za-z0-9._-]*):(?!//)[^\s]+$")
# an http(s) URL in a message (a quote or a space ends it, as in git's messages): its userinfo is masked
_HTTP_URL = re.compile(r"(?i)\b(https?://)([^\s'\"<>]+)")
# "user:pass/": a password holding an unescaped "/" (a ":" followed by more than a port's digits)
_SLASHED_PASSWORD = re.compile(r"[^/@:]*:(?!\d*(?:/|$))[^/@]*/")
_PARTIAL = ".partial"
_SLUG_LENGTH = 60
# variables that would point git at some other repository than the one named
_REPOSITORY_VARIABLES = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE",
)  # fmt: skip

# git's messages (English: the environment sets LC_ALL=C), first match wins
_CAUSES = (
    ("timeout", re.compile(r"timed out", re.I)),
    (
        "unreachable",
        re.compile(
            r"could not resolve|connection refused|failed to connect|couldn't connect|unable to connect"
            r"|network is unreachable|no route to host|name or service not known|name resolution"
            r"|connection reset",
            re.I,
        ),
    ),
    (
        "auth",
        re.compile(
            r"authentication failed|could not read (username|password)|terminal prompts disabled"
            r"|permission denied \(|access denied|invalid username or password"
            r"|host key verification failed|returned error: 40[13]",
            re.I,
        ),
    ),
    (
        "not_found",
        re.compile(
            r"repository.*(not found|does not exist)|does not appear to be a git repository"
            r"|could not be found|returned error: 404",
            re.I,
        ),
    ),
    (
        "corrupt",  # only ever said of the local mirror: see _classify
        re.compile(
            r"not a git repository|corrupt|bad object|bad config|object file|unable to read"
            r"|did not send all necessary objects|missing (blob|tree|commit|object)|invalid object"
            r"|packfile|broken link|unknown repository format",
            re.I,
        ),
    ),
)
_MESSAGES = {
    "timeout": "timed out fetching {remote}: {detail}",
    "unreachable": "remote unreachable: {remote}: {detail}",
    "auth": "authentication failed for {remote}: {detail}",
    "not_found": "repository not found: {remote}: {detail}",
    "corrupt": "the mirror of {remote} is corrupt: {detail}",
    "failed": "git could not fetch {remote}: {detail}",
}


class FetchError(Exception):
    """A fetch or a ref read that failed, as one line a user can act on.

    The message is already redacted: it never holds a token, a password or a
    traceback. ``kind`` says why, for callers that react differently:
    ``auth`` (credentials missing or refused), ``not_found``, ``unreachable``
    (connection refused, DNS), ``timeout``, ``corrupt`` (a local repository git
    cannot read) or ``failed`` (anything else; the message carries git's reason).
    """

    def __init__(self, message: str, kind: str = "failed") -> None:
        super().__init__(" ".join(message.splitlines()))
        self.kind = kind


@dataclass
class FetchResult:
    """The mirror after a fetch.

    ``head`` is the remote's default branch (``"main"``), None while the remote
    has no branch; ``refs`` maps full refnames of branches and tags to shas;
    ``changed`` says the refs or the default branch moved (always True for a
    clone); ``cloned`` that the mirror was (re)built from scratch.
    """

    path: Path
    head: str | None
    refs: dict[str, str] = field(default_factory=dict)
    changed: bool = False
    cloned: bool = False


# -- naming -------------------------------------------------------------------


def is_url(text: str) -> bool:
    """True when ``text`` is a git URL (see the module docstring), False for a local path.

    A path such as ``./repo``, ``/abs/path``, ``repo`` or ``dir/a:b`` (a colon
    only after a slash) is local, as git itself reads it.
    """
    return bool(_SCHEME_URL.match(text) or _SCP_LIKE.match(text))


def public_url(url: str) -> str:
    """``url`` without credentials: the repository's stored name, never a secret.

    An http(s) URL loses its whole userinfo (``https://user:token@host/x`` and
    ``https://token@host/x`` both become ``https://host/x``); other schemes keep
    their user (``ssh://git@host/x``) and lose only a password. Scheme and host
    are lowercased. scp-like addresses and local paths come back unchanged.
    """
    match = _SCHEME_URL.match(url)
    if not match:
        return url
    scheme = match["scheme"].lower()
    authority, rest = _authority(url[match.end() :])
    userinfo, _, host = authority.rpartition("@")
    user = "" if scheme in ("http", "https") else userinfo.partition(":")[0]
    return f"{scheme}://{user + '@' if user else ''}{host.lower()}{rest}"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every non-empty value of ``secrets`` and the userinfo of every
    http(s) URL replaced by ``***``. Applied to every message and log line."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):  # longest first: one may hold another
        text = text.replace(secret, "***")
    return _HTTP_URL.sub(_masked, text)


def _masked(url: re.Match[str]) -> str:
    end = _userinfo_end(url[2])
    return url[0] if end < 0 else f"{url[1]}***{url[2][end:]}"


def mirror_path(data_dir: Path, url: str) -> Path:
    """Where the mirror of ``url`` lives: ``data_dir/mirrors/<slug>-<hash12>.git``.

    The slug (host and path in safe characters) is for people; the hash, of
    ``public_url(url)``, makes the name unique, so the same repository given
    with or without credentials has one mirror.
    """
    public = public_url(url)
    digest = hashlib.sha256(public.encode()).hexdigest()[:12]
    return Path(data_dir) / "mirrors" / f"{_slug(public)}-{digest}.git"


def _authority(after_scheme: str) -> tuple[str, str]:
    """Split what follows ``scheme://`` into the authority and the rest (path and query)."""
    cut = after_scheme.find("/", _userinfo_end(after_scheme) + 1)
    return (after_scheme, "") if cut < 0 else (after_scheme[:cut], after_scheme[cut:])


def _userinfo_end(after_scheme: str) -> int:
    """Where the userinfo of what follows ``scheme://`` ends (the index of its ``@``); -1 when none.

    As git reads a URL, the host follows the last ``@`` before the first ``/``; an ``@`` further
    on is the path's (``https://host/~jane@corp/x.git``). But a password holding an unescaped
    ``/`` (``deploy:Ab/Cd@host``, refused by ``url_problem``) runs to the last ``@``, so that no
    part of it is ever taken for a host or a path to show.
    """
    first = after_scheme.partition("/")[0]
    if "@" in first:
        return first.rfind("@")
    if "@" in after_scheme and _SLASHED_PASSWORD.match(after_scheme):
        return after_scheme.rfind("@")
    return -1


def url_problem(url: str) -> str | None:
    """Why git cannot take ``url`` as written (one line, holding nothing of it); None when it can.

    A ``/`` in a password ends the host for git: ``https://deploy:Ab/Cd@host/x`` is refused
    by git, and would otherwise be stored, shown and named after a host ``deploy``.
    """
    match = _SCHEME_URL.match(url)
    after = url[match.end() :] if match else ""
    if "/" not in after[: max(_userinfo_end(after), 0)]:
        return None
    return "the repository URL's password holds a '/': percent-encode it as %2F (and an '@' in it as %40)"


def _userinfo(url: str) -> str:
    """The credentials part of a scheme URL (as written, still %-escaped); "" when none."""
    match = _SCHEME_URL.match(url)
    return _authority(url[match.end() :])[0].rpartition("@")[0] if match else ""


def _slug(public: str) -> str:
    match = _SCHEME_URL.match(public)
    if match:
        authority, path = _authority(public[match.end() :])
        where = authority.rpartition("@")[2] + path
    else:
        where = public.partition("@")[2] if "@" in public.partition(":")[0] else public
    where = re.sub(r"(\.git)?/*$", "", where)
    slug = re.sub(r"[^A-Za-z0-9._]+", "-", where)[-_SLUG_LENGTH:]
    return slug.strip("-.") or "repository"


# -- reading refs ---------------------------------------------------------------


_SCANNED_REFS = ("refs/heads/", "refs/tags/", "refs/remotes/")


def read_refs(path: Path) -> dict[str, str]:
    """Every branch, remote-tracking branch and tag of the repository at ``path`` (a work
    tree or a bare repository), full refname -> sha, plus ``"HEAD"`` when HEAD resolves.
    (A clone someone keeps pulled moves its ``refs/remotes``; a host's other refs, such as
    ``refs/pull/*`` in a mirror, say nothing about what a scan sees and are left out.)

    One ``git show-ref`` and nothing written: comparing two reads tells whether
    anything moved. Raises ``FetchError`` (kind ``corrupt``) when ``path`` is not
    a repository git can read.
    """
    path = Path(path).resolve()
    # the ceiling stops git from reading a repository that merely contains path
    env = _environment(GIT_CEILING_DIRECTORIES=str(path.parent))
    done = _run_local(["-C", str(path), "show-ref", "--head"], env)
    if done.returncode == 1 and not done.stderr.strip():
        return {}  # no refs at all: a repository with no commit yet
    if done.returncode != 0:
        raise FetchError(f"cannot read the refs of {path}: {_detail(done.stderr)}", "corrupt")
    pairs = (line.partition(" ") for line in done.stdout.splitlines())
    return {name: sha for sha, _, name in pairs if name == "HEAD" or name.startswith(_SCANNED_REFS)}


def has_all(path: Path, want: dict[str, str]) -> bool:
    """True when every refname of ``want`` already points at its sha in the
    repository at ``path`` (an all-zero sha: the ref must be absent, as a push
    that deletes a branch reports it). False when ``path`` cannot be read."""
    try:
        refs = read_refs(path)
    except FetchError:
        return False
    return all(refs.get(name) == sha or (set(sha) == {"0"} and name not in refs) for name, sha in want.items())


# -- fetching -------------------------------------------------------------------


def fetch(
    url: str, data_dir: Path, token: str | None = None, timeout: float = 600, corrupt: str | None = None
) -> FetchResult:
    """Bring the mirror of ``url`` up to date (cloning it the first time) and return it.

    ``token`` authenticates an http(s) transfer (sent as ``x-access-token``);
    without it, credentials inside ``url`` are used the same way. Neither is
    ever written to disk. ``timeout`` (seconds) bounds the whole call, waiting
    for another fetch of the same mirror included. A corrupt mirror is cloned
    again once; a failed fetch leaves the previous mirror as it was.
    ``corrupt``: why the caller found the mirror damaged where git's fetch does
    not look (a scan missing an object): it is cloned again, not fetched.

    Raises ``FetchError`` (one redacted line) and ``ValueError`` when ``url``
    is not a git URL.
    """
    if not is_url(url):
        raise ValueError(f"not a git URL: {redact(url)}")
    if problem := url_problem(url):
        raise FetchError(problem, "failed")
    header = _authorization(url, token)
    transfer = _Transfer(
        remote=public_url(url),
        env=_environment(_credentials_config(header)),
        secrets=_secrets(url, token, header),
        authenticated=header is not None,
        timeout=timeout,
    )
    path = mirror_path(data_dir, url)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path, transfer):
        _remove_partials(path)
        if not path.exists() and not path.is_symlink():
            return _clone(transfer, path)
        if corrupt is not None:
            return _clone_again(transfer, path, transfer.error("corrupt", corrupt))
        try:
            return _update(transfer, path)
        except FetchError as error:
            if error.kind != "corrupt":
                raise
            return _clone_again(transfer, path, error)


@dataclass
class _Transfer:
    """One fetch: the remote (public URL), git's environment, the secrets to
    redact, whether credentials go along, and the time allowed."""

    remote: str
    env: dict[str, str]
    secrets: tuple[str, ...]
    authenticated: bool
    timeout: float
    deadline: float = 0.0

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.timeout

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def git(self, *args: str, local: bool = True) -> str:
        """Run git within the deadline; its stdout, or a classified, redacted
        ``FetchError``. ``local`` says a failure may be the mirror's own fault."""
        try:
            done = _run(list(args), env=self.env, timeout=max(self.left(), 0.001))
        except subprocess.TimeoutExpired:
            raise self.error("timeout", f"no answer within {self.timeout:g} s") from None
        if done.returncode != 0:
            raise self.error(_classify(done.stderr, local), _detail(done.stderr))
        return done.stdout

    def error(self, kind: str, detail: str) -> FetchError:
        if kind == "auth" and "terminal prompts disabled" in detail:  # git wanted to ask for a password
            detail = "the credentials were refused" if self.authenticated else "it wants credentials (a token)"
        return FetchError(redact(_MESSAGES[kind].format(remote=self.remote, detail=detail), self.secrets), kind)


def _clone(transfer: _Transfer, path: Path) -> FetchResult:
    """Clone into a partial folder beside ``path``, then rename it into place, so
    a mirror that exists is always whole."""
    partial = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=_PARTIAL, dir=path.parent))
    try:
        transfer.git("clone", "--mirror", "--quiet", "--", transfer.remote, str(partial), local=False)
        _move_into_place(partial, path)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    logger.info("cloned %s into %s", transfer.remote, path)
    state = _state(path)
    return FetchResult(path, state.head, _branches_and_tags(state.refs), changed=True, cloned=True)


def _clone_again(transfer: _Transfer, path: Path, corrupt: FetchError) -> FetchResult:
    logger.warning("%s; cloning it again", corrupt)
    try:
        return _clone(transfer, path)
    except FetchError as error:
        raise FetchError(f"{corrupt}, and cloning it again failed: {error}", error.kind) from None


def _update(transfer: _Transfer, path: Path) -> FetchResult:
    """Fetch into an existing mirror (pruning deleted refs) and point its HEAD at
    the remote's default branch. One round trip (``ls-remote``) when no branch or
    tag moved, which is most timer ticks; two (and ``fetch``) when one did."""
    before = _state(path)
    git_dir = f"--git-dir={path}"
    listing = transfer.git(git_dir, "ls-remote", "--symref", "origin")
    moved = _listed_branches_and_tags(listing) != _heads_and_tags(before.refs)
    if moved:
        transfer.git(git_dir, "fetch", "--prune", "--quiet", "origin")  # the mirror refspec, +refs/*:refs/*
    default = next(
        (line[5:].split("\t")[0] for line in listing.splitlines() if line.startswith("ref: ") and line.endswith("\tHEAD")),
        None,
    )
    renamed = bool(default and default.startswith("refs/heads/") and default != before.head_ref)
    if renamed:
        transfer.git(git_dir, "symbolic-ref", "HEAD", default)
    after = _state(path) if moved or renamed else before
    logger.info("fetched %s%s", transfer.remote, "" if after != before else " (nothing new)")
    return FetchResult(path, after.head, _branches_and_tags(after.refs), changed=after != before, cloned=False)


class _State(NamedTuple):
    """A mirror's refs (``read_refs``) and what its HEAD names, existing or not."""

    refs: dict[str, str]
    head_ref: str | None

    @property
    def head(self) -> str | None:
        """The default branch's name; None while HEAD names no existing branch."""
        if self.head_ref is None or self.head_ref not in self.refs:
            return None
        return self.head_ref.removeprefix("refs/heads/")


def _state(path: Path) -> _State:
    refs = read_refs(path)
    done = _run_local([f"--git-dir={path}", "symbolic-ref", "--quiet", "HEAD"], _environment())
    return _State(refs, done.stdout.strip() if done.returncode == 0 else None)


def _listed_branches_and_tags(listing: str) -> dict[str, str]:
    """The branches and tags an ``ls-remote`` lists (peeled tag lines left out)."""
    pairs = (line.split("\t", 1) for line in listing.splitlines() if "\t" in line and not line.startswith("ref: "))
    return {name: sha for sha, name in pairs if name.startswith(("refs/heads/", "refs/tags/")) and not name.endswith("^{}")}


def _heads_and_tags(refs: dict[str, str]) -> dict[str, str]:
    return {name: sha for name, sha in refs.items() if name.startswith(("refs/heads/", "refs/tags/"))}


def _branches_and_tags(refs: dict[str, str]) -> dict[str, str]:
    return {name: sha for name, sha in refs.items() if name != "HEAD"}


def _move_into_place(partial: Path, path: Path) -> None:
    """Rename the finished clone to ``path``; an old mirror there (corrupt) is first
    renamed aside, so no moment leaves a half-deleted mirror at ``path``."""
    if path.is_dir() and not path.is_symlink():
        aside = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=_PARTIAL, dir=path.parent))
        os.rename(path, aside)  # onto an empty folder: atomic on POSIX
        shutil.rmtree(aside, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()
    os.rename(partial, path)


def _remove_partials(path: Path) -> None:
    """Remove what a killed clone left; safe, since the caller holds the mirror's lock."""
    for leftover in path.parent.glob(f".{path.name}.*{_PARTIAL}"):  # mirror names hold no glob character
        shutil.rmtree(leftover, ignore_errors=True)


@contextmanager
def _locked(path: Path, transfer: _Transfer) -> Iterator[None]:
    """Hold the mirror's lock: another process fetching it makes this one wait,
    within the deadline. The kernel drops the lock if its holder dies."""
    with open(path.parent / f".{path.name}.lock", "a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if transfer.left() <= 0:
                    raise transfer.error("timeout", "another fetch of this mirror is still running") from None
                time.sleep(0.05)
        yield


# -- credentials ------------------------------------------------------------------


def _authorization(url: str, token: str | None) -> str | None:
    """The HTTP Authorization header for an http(s) transfer: from ``token``, else
    from credentials inside ``url``. The ``x-access-token`` user is accepted by
    GitHub, Gitea/Forgejo and GitLab alike."""
    if not _is_http(url):
        return None
    pair = ("x-access-token", token) if token else _url_credentials(url)
    if pair is None:
        return None
    return "Authorization: Basic " + base64.b64encode(":".join(pair).encode()).decode()


def _url_credentials(url: str) -> tuple[str, str] | None:
    """The (user, password) written inside an http(s) URL, unescaped; a lone
    userinfo (``https://TOKEN@host/x``) is a token."""
    userinfo = _userinfo(url) if _is_http(url) else ""
    if not userinfo:
        return None
    user, colon, password = userinfo.partition(":")
    return (unquote(user), unquote(password)) if colon else ("x-access-token", unquote(user))


def _credentials_config(header: str | None) -> dict[str, str]:
    if header is None:
        return {}
    # no credential helper: with credentials given, a refusal must fail rather than
    # fall back on (or, worse, erase) whatever the user's helpers store
    return {"http.extraHeader": header, "credential.helper": ""}


def _secrets(url: str, token: str | None, header: str | None) -> tuple[str, ...]:
    """Every form a secret of this fetch could take in a message."""
    found = [token or ""]
    if _url_credentials(url):
        userinfo = _userinfo(url)
        found += [_url_credentials(url)[1], userinfo.partition(":")[2] or userinfo]  # unescaped and as written
    if header:
        found += [header, header.rpartition(" ")[2]]
    return tuple(s for s in found if s)


def _is_http(url: str) -> bool:
    return re.match(r"https?://", url, re.IGNORECASE) is not None


# -- running git ------------------------------------------------------------------


def _environment(config: dict[str, str] | None = None, **variables: str) -> dict[str, str]:
    """The environment git runs in: the process's own, so SSH (``GIT_SSH_COMMAND``,
    the agent), proxies and CA settings work as they do for the user, but never
    prompting and with ``config`` added through ``GIT_CONFIG_COUNT`` (nothing in argv)."""
    env = {k: v for k, v in os.environ.items() if k not in _REPOSITORY_VARIABLES}
    # English messages (for _classify); an empty GIT_ASKPASS turns every askpass
    # program off, GIT_TERMINAL_PROMPT=0 the terminal: git fails instead of waiting
    env.update(LC_ALL="C", GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="", SSH_ASKPASS_REQUIRE="never", **variables)
    count = int(env.get("GIT_CONFIG_COUNT") or 0)
    for index, (key, value) in enumerate((config or {}).items(), start=count):
        env[f"GIT_CONFIG_KEY_{index}"], env[f"GIT_CONFIG_VALUE_{index}"] = key, value
    env["GIT_CONFIG_COUNT"] = str(count + len(config or {}))
    return env


def _run(args: list[str], *, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run git to the end, or kill it after ``timeout`` seconds (TimeoutExpired).

    git runs in a session of its own: it has no terminal to prompt on (ssh
    included), and a timeout kills the whole group (git, git-remote-https, ssh,
    index-pack). The process is always waited for: no zombie is left.
    """
    with subprocess.Popen(
        ["git", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    ) as process:
        with _running_lock:
            _running[process] = threading.get_ident()
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:  # the timeout, or an interrupt: nothing may outlive us
            _kill_group(process)
            raise  # leaving the with block waits for git: no zombie
        finally:
            with _running_lock:
                _running.pop(process, None)
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def stop_transfers(thread: int | None = None) -> int:
    """Kill the git commands still running (all, or those ``thread`` started), each with its
    process group (ssh, the remote helper, index-pack): in a session of their own, they
    would outlive the server that stops, a clone going on to fill its partial folder (which
    the next fetch removes). Returns how many were killed. Also run at the process's exit."""
    with _running_lock:
        found = [process for process, started_by in _running.items() if thread is None or started_by == thread]
    for process in found:
        _kill_group(process)
    return len(found)


def _kill_group(process: subprocess.Popen) -> None:
    if process.returncode is None:  # not reaped yet: its pid is still its own
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


_running: dict[subprocess.Popen, int] = {}  # the git commands ``_run`` is waiting for -> the thread that started each
_running_lock = threading.Lock()
atexit.register(stop_transfers)


def _run_local(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """A git command on a local repository: quick, but never allowed to hang."""
    try:
        return _run(args, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise FetchError(f"git {' '.join(args[-4:])} took longer than {timeout:g} s", "timeout") from None


def _classify(stderr: str, local: bool) -> str:
    """Why git failed, from what it said; ``corrupt`` only when ``local``."""
    for kind, pattern in _CAUSES:
        if pattern.search(stderr) and (local or kind != "corrupt"):
            return kind
    return "failed"


def _detail(stderr: str) -> str:
    """git's most telling line: the last ``fatal:`` one, else the last one, shortened. A line
    ending in ``:`` takes the next one along (``unable to connect to host:`` then the
    ``errno=Connection refused`` that says why)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    fatal = [index for index, line in enumerate(lines) if line.startswith("fatal:")]
    at = fatal[-1] if fatal else len(lines) - 1
    line = lines[at] if lines else "no message"
    if line.endswith(":") and at + 1 < len(lines):
        line = f"{line} {lines[at + 1]}"
    return re.sub(r"^(fatal|error|remote): *", "", line)[:300]
