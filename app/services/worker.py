"""The background worker: one thread per server process that runs queued jobs.

It takes up jobs left running by a process that died, queues a sync on start
and every ``fetch_interval`` seconds, and runs jobs one at a time (the queue
keeps it to one per repository across processes). A failed job is retried with
a growing backoff; the last good scan stays in the store meanwhile.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta

from app.config import Settings
from app.services import jobs as service
from app.services.mirror import stop_transfers
from app.services.repos import tracked
from app.store import jobs
from app.store.db import session_scope

log = logging.getLogger("sawmill.worker")

HOST = socket.gethostname()
INSTANCE = uuid.uuid4().hex[:8]  # tells this process from an earlier one that had the same pid
POLL = 1.0  # seconds between looks at the queue for jobs queued by other processes
RECOVER = 5.0  # seconds between looks for jobs a dead process left running (a replica's, say)
FOLLOW = 5.0  # seconds between looks for a scan another replica stored, for this one's copy to hold its commit


def owner_name() -> str:
    return f"{HOST}:{os.getpid()}:{INSTANCE}"


def is_dead(owner: str) -> bool:
    """Whether the worker ``owner`` names is known gone: same host, and its process
    is not running (or it is this process's pid from an earlier life)."""
    host, _, rest = owner.partition(":")
    pid, _, instance = rest.partition(":")
    if host != HOST or not pid.isdigit():
        return False  # another machine's: its heartbeat tells
    if int(pid) == os.getpid():
        return instance != INSTANCE
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Worker:
    """Runs the tracked repository's jobs in a daemon thread; ``start()`` and ``stop()``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.repository = tracked(settings.repo).key if settings.repo else None
        self.owner = owner_name()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unregister = None
        self._current: int | None = None
        self._held: str | None = None  # the newest scan's commit, known to be in this process's copy

    def start(self) -> None:
        self._unregister = service.register_waker(self.settings.database_url, self._wake)
        self._thread = threading.Thread(target=self._loop, name="sawmill-worker", daemon=True)
        self._thread.start()

    def stop(self, grace: float = 5.0) -> None:
        """Stop taking jobs; a job still running after ``grace`` seconds goes back to the queue,
        for the next start (or another replica) to take up."""
        self._stop.set()
        self._wake.set()
        if self._unregister:
            self._unregister()
        if self._thread is not None:
            self._thread.join(grace)
            if self._thread.is_alive() and self._current is not None:
                with session_scope(self.settings.database_url) as session:
                    jobs.release(session, self._current, self.owner)
                log.warning("shutting down mid-job %s: it is queued again", self._current)
            if self._thread.is_alive() and stop_transfers(self._thread.ident):
                # a fetch the job was waiting on: git runs in a session of its own and would outlive us
                log.warning("stopped the git commands the job was running")

    def _loop(self) -> None:
        try:
            self._recover()
            self._queue("start")
        except Exception:  # a database that went away: keep the loop, it retries
            log.exception("the worker could not start its first job")
        interval = self.settings.fetch_interval
        next_fetch = time.monotonic() + interval if interval else None
        next_recover = time.monotonic() + RECOVER
        next_follow = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                if next_fetch is not None and now >= next_fetch:
                    next_fetch = now + interval
                    if self._holds_timer(interval):
                        self._queue("timer")
                if now >= next_recover:
                    next_recover = now + RECOVER
                    self._recover()
                if self.run_one():
                    continue
                if now >= next_follow:  # idle: a scan another replica stored may need fetching
                    next_follow = now + (FOLLOW if self.follow() else max(FOLLOW, min(interval or 60, 60)))
            except Exception:
                log.exception("the worker's loop failed; trying again")
            wait = POLL if next_fetch is None else max(0.0, min(POLL, next_fetch - time.monotonic()))
            self._wake.wait(wait)
            self._wake.clear()

    def follow(self) -> bool:
        """Keep this process's copy of the repository at the newest scan's commit (see
        ``jobs.follow_scans``); False when the fetch failed (the loop waits longer to try again)."""
        if self.repository is None:
            return True
        try:
            self._held = service.follow_scans(self.settings, self._held)
        except service.FetchError as exc:
            log.warning("could not bring this replica's copy up to the last scan: %s", exc)
            return False
        return True

    def _holds_timer(self, interval: int) -> bool:
        """Whether this process runs the repository's fetch timer: with several replicas, one does
        (it renews a lease each tick; when it stops, another takes the timer once the lease lapses)."""
        if self.repository is None:
            return False
        with session_scope(self.settings.database_url) as session:
            return jobs.take_lease(session, f"timer:{self.repository}", self.owner, timedelta(seconds=interval * 2.5))

    def _queue(self, why: str) -> None:
        if self.repository is not None:
            service.request_sync(self.settings, why)

    def _recover(self) -> None:
        with session_scope(self.settings.database_url) as session:
            taken_up = jobs.recover(session, is_dead)
        if taken_up:
            log.warning("jobs %s were left running by a process that stopped: queued again", taken_up)

    def run_one(self) -> bool:
        """Claim and run one due job of this worker's repository; False when none was due."""
        if self.repository is None:
            return False
        with session_scope(self.settings.database_url) as session:
            job = jobs.claim_next(session, self.owner, repositories=[self.repository])
        if job is None:
            return False
        self._current = job.id
        try:
            self._run(job)
        finally:
            self._current = None
        return True

    def _run(self, job: jobs.Job) -> None:
        progress = service.Progress()
        beating = threading.Event()
        heart = threading.Thread(target=self._beat, args=(job.id, progress, beating), daemon=True)
        heart.start()
        error, outcome = None, {}
        try:
            outcome = service.run_job(self.settings, job, progress)
        except Exception as exc:  # every failure ends the job with a reason, never "running" for good
            error = service.failure_message(exc)
            if not isinstance(exc, service.EXPECTED):
                log.exception("job %s failed", job.id)
            else:
                log.warning("job %s failed: %s", job.id, error)
        finally:
            beating.set()
            heart.join()
        with session_scope(self.settings.database_url) as session:
            if jobs.finish(session, job.id, self.owner, error=error, **outcome) and error:
                retry_in = service.backoff(job.attempts + 1, self.settings.fetch_interval)
                jobs.queue_job(
                    session, job.repository, "retry", ref=job.ref, want=job.want, force=job.force,
                    run_after=jobs.utcnow() + retry_in, attempts=job.attempts + 1,
                )  # fmt: skip

    def _beat(self, job_id: int, progress: service.Progress, done: threading.Event) -> None:
        """Write the job's heartbeat every HEARTBEAT, and its progress as it moves (every 0.2 s at most)."""
        shown, last = None, time.monotonic()
        while not done.wait(0.2):
            state = (progress.phase, None if progress.fraction is None else round(progress.fraction, 2))
            if state == shown and time.monotonic() - last < jobs.HEARTBEAT.total_seconds():
                continue
            try:
                with session_scope(self.settings.database_url) as session:
                    jobs.beat(session, job_id, self.owner, progress.phase, progress.fraction, progress.commit)
            except Exception:
                log.exception("heartbeat of job %s failed", job_id)
            shown, last = state, time.monotonic()
