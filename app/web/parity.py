"""Parity on the module page and in ``/api/modules/{path}``: the legacy checks a migration dropped.

Computed when the page is built (pages are kept per store version and minute,
``app.web.page_cache``) from the stored history and the repository on disk;
the git part is memoized per commit in ``app.services.parity``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session

from app.config import Settings
from app.services.parity import module_parity_at
from app.services.repos import repo_on_disk
from app.store.scans import latest_scan


class CheckOut(BaseModel):
    kind: str = Field(description="as the test spells it: deployment, Cluster, helmreleases")
    name: str | None = Field(description="None: every resource of the kind in the namespace")
    namespace: str | None
    source: str = Field(description="the file that states the check")
    group: str | None = Field(description="the API group when the test names one ('' for the core group)")
    absent: bool = Field(False, description="the check is that the resource does not exist (kuttl errors, chainsaw error, a wait for deletion)")


class ParityOut(BaseModel):
    """What the migration kept of the module's legacy checks (see docs/assistant.md)."""

    migrated_in: str = Field(description="the commit after which only chainsaw tests covered the module")
    legacy_commit: str = Field(description="the last commit whose legacy suite covered it: where its checks were read")
    pr: int | None
    legacy_checks: list[CheckOut]
    carried: list[CheckOut] = Field(description="asserted by the chainsaw tests at the migration")
    lost: list[CheckOut] = Field(description="dropped by the migration")
    since: list[CheckOut] = Field(description="not carried, but their resource has left the module since: evolution")


def parity_of(session: Session, settings: Settings, module: str) -> dict[str, Any] | None:
    """The module's parity as the last scan sees it, as plain data; None when it has none
    (not migrated, born with chainsaw tests, or no repository on disk to read)."""
    scan = latest_scan(session)
    if scan is None:
        return None
    repo = repo_on_disk(settings.repo, settings.data_dir, scan.repository)
    found = module_parity_at(session, repo, scan.repository, module, scan.commit_sha, scan.history_upto, settings.config)
    if found is None:
        return None
    data = found.to_dict()
    data.pop("path")
    return data
