"""Scans and their per-module results."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, select

from app.scanner.model import ScanResult
from app.store.scope import RepositoryScoped, Table


def utcnow() -> datetime:
    return datetime.now(UTC)


class Scan(RepositoryScoped, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ref: str
    commit_sha: str = Field(index=True)
    commit_date: datetime
    started_at: datetime
    finished_at: datetime | None = None
    warnings: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    refs_digest: str | None = None  # every ref's sha when it was scanned, hashed: a sync scans again only when it moved
    history_upto: int | None = None  # the last history event seq this scan shows; None: all (a scan of the tip)


class ModuleResult(Table, table=True):
    __tablename__ = "module_result"

    id: int | None = Field(default=None, primary_key=True)
    scan_id: int = Field(foreign_key="scan.id", index=True, ondelete="CASCADE")
    path: str
    name: str
    group: str
    pair: str | None = None
    component: bool = False
    status: str
    branch: str | None = None  # the branch whose chainsaw tests make it in_progress
    evidence: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def record_scan(
    session: Session, result: ScanResult, repository: str, started_at: datetime, refs_digest: str | None = None
) -> Scan:
    """Store a finished scan and its modules; returns the new Scan row."""
    scan = Scan(
        refs_digest=refs_digest,
        repository=repository,
        ref=result.ref,
        commit_sha=result.commit,
        commit_date=result.commit_date,
        started_at=started_at,
        finished_at=utcnow(),
        warnings=[{"path": w.path, "reason": w.reason} for w in result.warnings],
    )
    session.add(scan)
    session.flush()
    for module in [*result.modules, *result.components]:
        data = module.to_dict()
        session.add(
            ModuleResult(
                scan_id=scan.id,
                path=module.path,
                name=module.name,
                group=module.group,
                pair=module.pair,
                component=module.component,
                status=str(module.status),
                branch=module.branch,
                evidence=data["evidence"],
            )
        )
    session.flush()
    return scan


def latest_scan(session: Session) -> Scan | None:
    return session.exec(select(Scan).order_by(Scan.id.desc()).limit(1)).first()


def scan_modules(session: Session, scan_id: int) -> list[ModuleResult]:
    query = select(ModuleResult).where(ModuleResult.scan_id == scan_id).order_by(ModuleResult.path)
    return list(session.exec(query))
