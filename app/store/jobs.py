"""The job queue: fetches and scans waiting, running, done or failed, kept in the database.

Kept in the store, not in memory, so any worker (any replica) can claim a job,
any page can show it, and a job cut off by a restart is found and run again.
Persistence only: ``app.services.jobs`` decides what a job does.

- One job at a time per repository: a job is claimed only while no other job
  of its repository runs (with a fresh heartbeat).
- Deduplicated: a request for a repository and ref that already has a job
  waiting joins it (the commits it wants are merged in), so fifty pushes in a
  second make one job, not fifty.
- Claimed with ``FOR UPDATE SKIP LOCKED`` where the database has it, then a
  guarded update (``WHERE state = 'queued'``), so two workers never run one job.
- Queueing for a repository, and claiming, take turns (``_take_turn``): what
  decides "join the waiting job" or "this repository is busy" is a row another
  transaction may be inserting or updating right now, which ``FOR UPDATE``
  does not wait for.
- A running job beats a heartbeat; one whose heartbeat stopped (its process
  died) or whose owner is known dead goes back to the queue (``recover``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import JSON, Column, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, select

from app.store.errors import NotFound
from app.store.scope import Table

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
ACTIVE = (QUEUED, RUNNING)
TURNS = 0x5A3_3112  # the queue's PostgreSQL advisory lock space (db.MIGRATE_LOCK is another kind of key)
CLAIMS = ""  # the turn every claim takes, whatever its repositories
HEARTBEAT = timedelta(seconds=5)  # how often a running job says it is alive
STALE = timedelta(seconds=30)  # a running job silent this long died with its process


def utcnow() -> datetime:
    return datetime.now(UTC)


class Job(Table, table=True):
    id: int | None = Field(default=None, primary_key=True)
    repository: str = Field(index=True)  # the store key: an absolute path or a URL without credentials
    ref: str = "HEAD"  # HEAD: the default branch's tip
    state: str = Field(default=QUEUED, index=True)
    requested_by: str  # a person, "timer", "start", "webhook:github", "retry"
    force: bool = False  # scan even when the tip has not moved (Rescan)
    want: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # refname -> sha a push named
    attempts: int = 0  # earlier failed attempts: the backoff grows with them
    run_after: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    heartbeat_at: datetime | None = None
    finished_at: datetime | None = None
    owner: str | None = None  # the worker running it: host:pid:instance
    phase: str | None = None  # fetching, scanning, history
    progress: float | None = None  # 0..1 of the phase, when known
    commit_sha: str | None = None  # what it scans
    fetched: bool = False  # whether it asked the remote
    scanned: bool = False  # whether it stored a scan (False: nothing had moved)
    scan_id: int | None = None
    error: str | None = None


class Lease(Table, table=True):
    """Something only one process may do at a time (the fetch timer of a repository), held
    until ``expires_at``; its holder renews it, and another takes it once it lapses."""

    name: str = Field(primary_key=True)
    owner: str
    expires_at: datetime


def take_lease(session: Session, name: str, owner: str, ttl: timedelta, now: datetime | None = None) -> bool:
    """Take or renew the lease ``name`` for ``owner``; False while another holds it."""
    now = now or utcnow()
    lease = session.exec(select(Lease).where(Lease.name == name).with_for_update()).first()
    if lease is None:
        try:
            with session.begin_nested():  # two processes may both find none: one insert wins
                session.add(Lease(name=name, owner=owner, expires_at=now + ttl))
        except IntegrityError:
            return False
        return True
    if lease.owner != owner and aware(lease.expires_at) > now:
        return False
    lease.owner, lease.expires_at = owner, now + ttl
    session.add(lease)
    session.flush()
    return True


def queue_job(
    session: Session,
    repository: str,
    requested_by: str,
    ref: str = "HEAD",
    want: dict[str, str] | None = None,
    force: bool = False,
    run_after: datetime | None = None,
    attempts: int = 0,
) -> tuple[Job, bool]:
    """A new queued job, or the one it joins (False: not new): the job waiting for the same
    repository and ref, or the running one when it was asked for every commit wanted here
    (it fetches after it was asked, so it brings them in)."""
    _take_turn(session, repository)
    query = select(Job).where(Job.repository == repository, Job.ref == ref, Job.state.in_(ACTIVE)).with_for_update()
    active = list(session.exec(query.order_by(Job.id)))
    running = next((j for j in active if j.state == RUNNING), None)
    if running is not None and want and not force and want.items() <= running.want.items():
        return running, False
    waiting = next((j for j in active if j.state == QUEUED), None)
    when = run_after or utcnow()
    if waiting is not None:
        waiting.want = {**waiting.want, **(want or {})}
        waiting.force = waiting.force or force
        waiting.run_after = min(aware(waiting.run_after), when)
        waiting.attempts = max(waiting.attempts, attempts)
        session.add(waiting)
        session.flush()
        return waiting, False
    job = Job(
        repository=repository, ref=ref, requested_by=requested_by, want=dict(want or {}), force=force,
        run_after=when, attempts=attempts,
    )  # fmt: skip
    session.add(job)
    session.flush()
    return job, True


def claim_next(
    session: Session, owner: str, repositories: list[str] | None = None, now: datetime | None = None
) -> Job | None:
    """Take the oldest due job (of ``repositories``, when given) whose repository runs
    nothing else; None when there is none."""
    now = now or utcnow()
    _take_turn(session, CLAIMS)
    busy = select(Job.repository).where(Job.state == RUNNING, Job.heartbeat_at > now - STALE)
    query = (
        select(Job)
        .where(Job.state == QUEUED, Job.run_after <= now, Job.repository.not_in(busy))
        .where(Job.repository.in_(repositories) if repositories is not None else True)
        .order_by(Job.run_after, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    job = session.exec(query).first()
    if job is None:
        return None
    claimed = session.exec(
        update(Job)
        .where(Job.id == job.id, Job.state == QUEUED)
        .values(state=RUNNING, owner=owner, started_at=now, heartbeat_at=now, phase=None, progress=None, error=None)
    )
    session.flush()
    if claimed.rowcount != 1:  # another worker took it between the read and the write
        return None
    session.refresh(job)
    return job


def _take_turn(session: Session, key: str) -> None:
    """Wait until no other transaction holds the turn ``key`` (a repository's queue, or CLAIMS),
    and hold it until this one ends, so the reads that follow see the last holder's commit.

    ``SELECT ... FOR UPDATE`` alone is not enough: under READ COMMITTED it locks only rows that
    are there, so six requests at once each found no waiting job and queued their own, and two
    workers each found the repository idle (the other's claim not yet committed) and ran two
    jobs of it at once.

    - PostgreSQL: an advisory lock on ``key``, released with the transaction. A lock, not a
      write: a worker's poll that claims nothing wakes no other process (see db._track_writes).
    - SQLite: the database's write lock, taken before the first read (``BEGIN IMMEDIATE``).
      Python's sqlite3 begins a transaction only at the first write, so the reads before it
      ran outside any transaction and could miss a commit made just after them. A transaction
      already begun by a write holds that lock.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"), {"space": TURNS, "key": key})
    elif connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def beat(session: Session, job_id: int, owner: str, phase: str | None, progress: float | None, commit: str | None) -> bool:
    """Record that ``owner`` still runs the job, and how far it is; False when it no longer owns it."""
    result = session.exec(
        update(Job)
        .where(Job.id == job_id, Job.owner == owner, Job.state == RUNNING)
        .values(heartbeat_at=utcnow(), phase=phase, progress=progress, commit_sha=commit)
    )
    return result.rowcount == 1


def finish(session: Session, job_id: int, owner: str, error: str | None = None, **outcome) -> bool:
    """End ``owner``'s job as done or failed (with ``error``); False when it no longer owned it.

    It takes its repository's turn first, as ``queue_job`` does: the worker queues a failed
    job's retry in the same transaction, and a request queueing meanwhile, holding the turn
    and waiting for this row, would otherwise deadlock with it (PostgreSQL)."""
    repository = session.exec(select(Job.repository).where(Job.id == job_id)).first()
    if repository is not None:
        _take_turn(session, repository)
    values = {"state": FAILED if error else DONE, "finished_at": utcnow(), "error": error, "phase": None, **outcome}
    result = session.exec(update(Job).where(Job.id == job_id, Job.owner == owner, Job.state == RUNNING).values(**values))
    return result.rowcount == 1


def release(session: Session, job_id: int, owner: str) -> bool:
    """Put ``owner``'s running job back in the queue (a worker shutting down mid-job)."""
    result = session.exec(
        update(Job)
        .where(Job.id == job_id, Job.owner == owner, Job.state == RUNNING)
        .values(state=QUEUED, owner=None, heartbeat_at=None, phase=None, progress=None, run_after=utcnow())
    )
    return result.rowcount == 1


def recover(session: Session, is_dead: Callable[[str], bool], now: datetime | None = None) -> list[int]:
    """Queue again every running job whose worker is gone: its heartbeat went silent
    or ``is_dead(owner)`` says so. Returns their ids."""
    now = now or utcnow()
    running = session.exec(select(Job).where(Job.state == RUNNING).with_for_update()).all()
    orphans = [j for j in running if aware(j.heartbeat_at or j.started_at or now) <= now - STALE or is_dead(j.owner or "")]
    for job in orphans:
        job.state, job.owner, job.heartbeat_at, job.phase, job.progress = QUEUED, None, None, None, None
        job.run_after = now
        session.add(job)
    session.flush()
    return [j.id for j in orphans]


def get_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    return job


def active_job(session: Session, repository: str) -> Job | None:
    """The running job of ``repository``, else its next waiting one."""
    query = select(Job).where(Job.repository == repository, Job.state.in_(ACTIVE))
    jobs = list(session.exec(query.order_by(Job.id)))
    return next((j for j in jobs if j.state == RUNNING), None) or (jobs[0] if jobs else None)


def last_finished(session: Session, repository: str) -> Job | None:
    query = select(Job).where(Job.repository == repository, Job.state.in_((DONE, FAILED)))
    return session.exec(query.order_by(Job.finished_at.desc(), Job.id.desc()).limit(1)).first()


def job_view(session: Session, repository: str) -> dict:
    """What the overview and ``/api/status`` say of the queue: the job under way (or
    waiting), and the last failure when no job has succeeded since (with when it is retried)."""
    active = active_job(session, repository)
    last = last_finished(session, repository)
    failed = None
    if last is not None and last.state == FAILED:
        waiting = session.exec(
            select(Job).where(Job.repository == repository, Job.state == QUEUED).order_by(Job.run_after).limit(1)
        ).first()
        failed = {
            "error": last.error, "at": aware(last.finished_at) if last.finished_at else None,
            "attempts": last.attempts + 1, "retry_at": aware(waiting.run_after) if waiting else None,
        }  # fmt: skip
    running = active is not None and (active.state == RUNNING or aware(active.run_after) <= utcnow())
    return {
        "active": {
            "id": active.id, "state": active.state, "phase": active.phase, "progress": active.progress,
            "commit": active.commit_sha, "requested_by": active.requested_by,
        } if running else None,
        "failed": failed,
    }  # fmt: skip


def queue_state(session: Session) -> list[Job]:
    """Every waiting or running job, oldest first (``sawmill info``)."""
    return list(session.exec(select(Job).where(Job.state.in_(ACTIVE)).order_by(Job.id)))


def aware(value: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they were stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
