"""Keeping the tracked repository current: fetch it, and scan when something moved.

``request_sync`` queues a job (Rescan, ``POST /api/scans``, a push webhook,
the fetch timer, start-up); ``run_job`` is what a worker does with one. A job
fetches the repository (a URL: its mirror; a path: only its refs are re-read),
and scans when the refs moved since the last scan, when no scan exists, or
when someone asked (Rescan). The scan itself is ``scan_and_store``: history
incremental, branches refreshed, document synced.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from app.config import Settings
from app.scanner.history_scan import read_branches
from app.scanner.model import MissingObject, ScanError
from app.scanner.source import git_lines
from app.services.mirror import FetchError, fetch, has_all, read_refs, redact
from app.services.repos import Tracked, tracked
from app.services.scan import refs_digest, scan_and_store
from app.store import jobs
from app.store.db import session_scope
from app.store.errors import Invalid
from app.store.history import history_state
from app.store.jobs import Job
from app.store.scans import Scan
from app.store.scope import UNSCANNED, known_repositories

MAX_BACKOFF = timedelta(hours=1)
_wakers: dict[str, set[threading.Event]] = {}  # database URL -> the events of this process's workers


def tracked_repository(settings: Settings) -> Tracked:
    """The repository the settings track; a user error when there is none."""
    if not settings.repo:
        raise Invalid("no repository to scan: start Sawmill with --repo PATH or URL (SAWMILL_REPO)")
    return tracked(settings.repo)


def request_sync(
    settings: Settings,
    requested_by: str,
    ref: str | None = None,
    want: dict[str, str] | None = None,
    force: bool = False,
) -> tuple[Job, bool]:
    """Queue a fetch-and-scan of the tracked repository (joining one already waiting); wake the workers.

    A push whose commits the last finished job already saw (same refs, nothing moved since)
    queues nothing: that job is the answer. So a burst of deliveries for one push costs one
    fetch and one scan, and a few rows, not fifty.
    """
    repo = tracked_repository(settings)
    ref = ref or settings.ref
    with session_scope(settings.database_url, repo.key) as session:
        if want and not force and (seen := _already_seen(session, settings, repo, scanned_ref(settings, ref, repo), want)):
            return seen, False
        job, new = jobs.queue_job(session, repo.key, requested_by, ref=ref, want=want, force=force)
    wake(settings.database_url)
    return job, new


def scanned_ref(settings: Settings, ref: str, repo: Tracked | None = None) -> str:
    """What a job for ``ref`` scans: HEAD stands for the default branch, SAWMILL_BRANCH when set.

    A mirror's HEAD is the remote's default branch. A repository given as a path may be a
    developer's clone with another branch checked out: its HEAD stands for the branch its
    history follows (``origin/HEAD``'s in a clone, see ``history_scan.read_branches``), not
    for whatever is checked out; where no such branch tells otherwise, HEAD as it is.
    """
    if ref != "HEAD":
        return ref
    if settings.branch:
        return settings.branch
    if repo is None or repo.remote or repo.path is None or not repo.path.is_dir():
        return ref
    return _default_ref(repo.path)


def _default_ref(path: Path) -> str:
    """The branch of ``path`` the history follows, short (``main``, ``origin/main``); ``HEAD``
    when HEAD is on it (a scan of it then reads as it always has) or nothing names one."""
    try:
        branches = read_branches(path)
    except ScanError:  # not a repository (yet): the job says so when it runs
        return "HEAD"
    held = {twin.ref for twin in branches.twins}
    followed = next((r for r in (f"refs/heads/{branches.default}", f"refs/remotes/origin/{branches.default}") if r in held), None)
    if branches.tip is None or followed is None or git_lines(path, "symbolic-ref", "-q", "HEAD") == [followed]:
        return "HEAD"
    return followed.removeprefix("refs/heads/").removeprefix("refs/remotes/")


def _already_seen(session, settings: Settings, repo: Tracked, ref: str, want: dict[str, str]) -> Job | None:
    """The job that saw the repository as it is, when its refs are those the last scan saw and
    hold every wanted commit; None when a fetch or a scan is still due."""
    path = repo.local(settings.data_dir)
    if not path.is_dir():
        return None
    try:
        refs = read_refs(path)
    except FetchError:
        return None
    last = _last_scan(session, repo.key, ref)
    if any(refs.get(r) != sha for r, sha in want.items()) or last is None or last.refs_digest != refs_digest(refs):
        return None
    # the job that brought them in: still ending (its scan is stored, its row not yet done), or done
    return jobs.active_job(session, repo.key) or jobs.last_finished(session, repo.key)


def wake(database_url: str) -> None:
    for event in _wakers.get(database_url, ()):
        event.set()


def register_waker(database_url: str, event: threading.Event) -> Callable[[], None]:
    _wakers.setdefault(database_url, set()).add(event)
    return lambda: _wakers.get(database_url, set()).discard(event)


def local_copy(
    settings: Settings, repo: Tracked, progress: Callable[[str], None] | None = None, corrupt: str | None = None
) -> Path:
    """The folder to scan for ``repo``: the repository itself, or its mirror brought up
    to date (cloned on first use; cloned again when ``corrupt`` says why it is damaged).
    Raises ``FetchError``."""
    if not repo.remote:
        return repo.local(settings.data_dir)
    if progress:
        progress(f"fetching {repo.key}")
    token = settings.git_token.get_secret_value() if settings.git_token else None
    return fetch(repo.url, settings.data_dir, token, corrupt=corrupt).path  # type: ignore[arg-type]


def follow_scans(settings: Settings, held: str | None = None) -> str | None:
    """Bring this process's own copy of the tracked repository up to the newest stored scan,
    when another replica ran it: drafts, parity and "what next" read the scanned commit from
    this copy, and must answer on every replica alike. ``held``: the commit this process last
    made sure of (it asks git nothing while the newest scan is still that one). Returns the
    commit now held. Raises ``FetchError``."""
    repo = tracked_repository(settings)
    if not repo.remote:
        return None  # a path: every process reads the repository itself
    with session_scope(settings.database_url, repo.key) as session:
        newest = session.exec(select(Scan.commit_sha).where(Scan.repository == repo.key).order_by(Scan.id.desc()).limit(1)).first()
    if newest is None or newest == held:
        return held
    path = repo.local(settings.data_dir)
    if not (path.exists() and git_lines(path, "rev-parse", "--verify", "-q", f"{newest}^{{commit}}")):
        local_copy(settings, repo)
    return newest


def store_repository(settings: Settings, session, cwd: Path | None = None) -> str:
    """The repository a command's progress data belongs to: the configured one
    (SAWMILL_REPO, --repo); else the repository the current folder lies in, when the
    store knows it; else the store's current repository (the one scanned last)."""
    if settings.repo:
        return tracked(settings.repo).key
    top = _work_tree(cwd or Path.cwd())
    known = known_repositories(session)
    if top is not None and str(top) in known:
        return str(top)
    return known[0] if known else UNSCANNED


def _work_tree(folder: Path) -> Path | None:
    import git

    try:
        with git.Repo(folder, search_parent_directories=True) as repo:
            return Path(repo.working_tree_dir or repo.git_dir).resolve()
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


@dataclass
class Progress:
    """What a running job has got to: the heartbeat writes it to the job row."""

    phase: str | None = None
    fraction: float | None = None
    commit: str | None = None

    def history(self, fraction: float) -> None:
        self.phase, self.fraction = "history", fraction


def run_job(settings: Settings, job: Job, progress: Progress) -> dict:
    """Do ``job``: fetch, then scan if anything moved. Returns the job's outcome fields.

    Raises ``FetchError``, ``ScanError`` or ``Invalid`` with a one-line message.
    """
    repo = tracked_repository(settings)
    path = repo.local(settings.data_dir)
    if not repo.remote and not path.is_dir():
        raise ScanError(f"{path} does not exist")
    fetched = False
    if repo.remote and not (job.want and path.exists() and has_all(path, job.want)):
        progress.phase = "fetching"
        local_copy(settings, repo)
        fetched = True
    refs = read_refs(path)
    digest = refs_digest(refs)
    ref = scanned_ref(settings, job.ref, repo)
    _nothing_to_scan(repo, path, refs, ref)
    progress.commit = _commit_of(refs, ref)
    with session_scope(settings.database_url, repo.key) as session:
        last = _last_scan(session, repo.key, ref)
        # a history dropped to be walked again (by an upgrade, say) is walked by the next scan: scan now
        walked = not refs or history_state(session, repo.key) is not None
    if last is not None and last.refs_digest == digest and walked and not job.force:
        return {"fetched": fetched, "scanned": False, "commit_sha": last.commit_sha}  # nothing moved since
    try:
        stored, result = _scan(settings, repo, path, ref, progress)
    except MissingObject as missing:
        if not repo.remote:
            raise  # a repository given as a path is the user's: Sawmill never writes to it
        # the mirror is a cache: a fetch does not check the objects it already holds, a fresh clone has them all
        progress.phase, fetched = "fetching", True
        try:
            local_copy(settings, repo, corrupt=str(missing).removeprefix("the repository is corrupt: "))
        except FetchError as error:
            raise FetchError(f"{missing}, and cloning the mirror again failed: {error}", error.kind) from None
        progress.commit = _commit_of(read_refs(path), ref)
        stored, result = _scan(settings, repo, path, ref, progress)
    return {"fetched": fetched, "scanned": True, "scan_id": stored.id, "commit_sha": result.commit}


def _nothing_to_scan(repo: Tracked, path: Path, refs: dict[str, str], ref: str) -> None:
    """Say so, naming the repository as the user gave it (never the mirror's folder), when it
    has no commit yet or its HEAD names a branch it lacks: the advice is the server's setting."""
    if not refs:
        raise ScanError(f"{repo.key} has no commits yet")
    if ref == "HEAD" and "HEAD" not in refs:
        named = git_lines(path, "symbolic-ref", "-q", "--short", "HEAD")
        branch = f"branch {named[0]!r}, which it does not hold" if named else "no branch"
        raise ScanError(f"the HEAD of {repo.key} names {branch}: name the default branch with SAWMILL_BRANCH")


def _scan(settings: Settings, repo: Tracked, path: Path, ref: str, progress: Progress):
    progress.phase, progress.fraction = "scanning", None
    return scan_and_store(
        settings.database_url, path, ref, settings.config, progress.history, repository=repo.key,
        branch=settings.branch, stale_days=settings.stale_branch_days,
    )  # fmt: skip


def _commit_of(refs: dict[str, str], ref: str) -> str | None:
    """The commit ``ref`` names among ``refs``, for the overview to show before the scan resolves it."""
    if re.fullmatch(r"[0-9a-f]{40}", ref):
        return ref
    return next((refs[name] for name in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}", f"refs/remotes/{ref}") if name in refs), None)


def _last_scan(session, repository: str, ref: str) -> Scan | None:
    """The repository's newest scan of ``ref`` (a scan of another ref says nothing of this one)."""
    query = select(Scan).where(Scan.repository == repository, Scan.ref == ref).order_by(Scan.id.desc()).limit(1)
    return session.exec(query).first()


EXPECTED = (FetchError, ScanError, Invalid)  # failures with a message for the user; others are bugs, logged in full


def failure_message(exc: BaseException) -> str:
    """One line for the overview and the API, never a secret or a traceback."""
    if isinstance(exc, (FetchError, ScanError)):
        return redact(str(exc))
    if isinstance(exc, Invalid):
        return redact(exc.message)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return redact(f"the scan failed: {type(exc).__name__}" + (f": {first}" if first else ""))


def backoff(attempts: int, interval: int) -> timedelta:
    """How long to wait before the next try after ``attempts`` failures in a row:
    doubling from 10 s, never past the fetch interval (when set) or an hour."""
    cap = min(MAX_BACKOFF, timedelta(seconds=interval)) if interval else MAX_BACKOFF
    return min(timedelta(seconds=10 * 2 ** max(attempts - 1, 0)), cap)
