"""What to migrate next: ``/api/next``, and the "Next up" lists of the overview and the backlog page.

One plan (``app.services.next``) for all three, so the list a page shows and
the API's answer cannot disagree.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.assistant.next import NextPlan
from app.config import Settings
from app.services.next import next_report
from app.services.repos import repo_on_disk
from app.store.scans import latest_scan
from app.web.api import READ_ERRORS
from app.web.auth import ReaderDep
from app.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/api", tags=["api"])


class NextItemOut(BaseModel):
    title: str = Field(description="the module, or a core/extra pair taken together (networking-core/extra)")
    modules: list[str] = Field(description="module paths")
    size: int = Field(description="checks its legacy suites make (success conditions, kuttl steps)")
    reason: str = Field(description="why it is here, in one line")
    depends_on: list[str] = Field(description="modules its Flux Kustomizations depend on")
    waiting_on: list[str] = Field(description="of those, the ones not migrated yet")
    blockers: list[str] = Field(description="titles of the open blockers naming it")
    cycle: list[str] = Field(
        default_factory=list, description="modules it waits for that wait for it in turn: migrate them together"
    )
    missing: list[str] = Field(
        default_factory=list, description="Kustomizations it dependsOn that do not exist: Flux will not reconcile it"
    )


class NextOut(BaseModel):
    graph_read: bool = Field(description="false: the repository was not readable, Flux dependencies are unknown")
    next: list[NextItemOut] = Field(
        description="legacy modules whose dependencies are migrated: smaller suites first, blocked ones last"
    )
    waiting: list[NextItemOut] = Field(description="legacy modules waiting for a dependency, nearest first")


def next_of(session: Session, settings: Settings) -> NextPlan:
    """The plan as of the last scan, read from the tracked repository (or the scanned folder)."""
    scan = latest_scan(session)
    repo = repo_on_disk(settings.repo, settings.data_dir, scan.repository if scan else None)
    return next_report(session, repo, settings.config)


@router.get("/next", response_model=NextOut, responses=READ_ERRORS, summary="What to migrate next, and why")
def next_up(session: SessionDep, settings: SettingsDep, viewer: ReaderDep) -> NextOut:
    plan = next_of(session, settings)
    return NextOut(
        graph_read=plan.graph_read,
        next=[NextItemOut(**asdict(i)) for i in plan.ready],
        waiting=[NextItemOut(**asdict(i)) for i in plan.waiting],
    )
