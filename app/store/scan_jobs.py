"""Scans asked for through the API, run in the background: queued, running, done or failed.

Kept in the store, not in memory, so any worker can answer ``GET /api/scans/{id}``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Field, Session, SQLModel, select

from app.store.errors import NotFound

ACTIVE = ("queued", "running")
STALE = timedelta(minutes=30)  # a job this old died with its process; a scan takes seconds


def utcnow() -> datetime:
    return datetime.now(UTC)


class ScanJob(SQLModel, table=True):
    __tablename__ = "scan_job"

    id: int | None = Field(default=None, primary_key=True)
    state: str = "queued"
    ref: str
    requested_by: str
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    scan_id: int | None = None
    error: str | None = None


def queue_job(session: Session, ref: str, requested_by: str) -> tuple[ScanJob, bool]:
    """A new queued job, or the one already waiting or running (False: not new)."""
    for active in session.exec(select(ScanJob).where(ScanJob.state.in_(ACTIVE)).order_by(ScanJob.id)):
        if _aware(active.created_at) > utcnow() - STALE:
            return active, False
        active.state, active.finished_at, active.error = "failed", utcnow(), "abandoned: the server stopped"
        session.add(active)
    job = ScanJob(ref=ref, requested_by=requested_by)
    session.add(job)
    session.flush()
    return job, True


def get_job(session: Session, job_id: int) -> ScanJob:
    job = session.get(ScanJob, job_id)
    if job is None:
        raise NotFound(f"no scan job {job_id}")
    return job


def mark_job(session: Session, job_id: int, state: str, scan_id: int | None = None, error: str | None = None) -> None:
    job = get_job(session, job_id)
    job.state = state
    if state == "running":
        job.started_at = utcnow()
    else:
        job.finished_at = utcnow()
        job.scan_id, job.error = scan_id, error
    session.add(job)
    session.flush()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
