"""Scan records for API tests, stored through the store's own function."""

from __future__ import annotations

from datetime import UTC, datetime

from app.scanner.model import ChainsawEvidence, Evidence, LegacyEvidence, Module, ScanResult, ScanWarning, Status
from app.store.db import session_scope
from app.store.scans import record_scan


def module(path: str, status: Status, component: bool = False) -> Module:
    group, _, rest = path.partition("/")
    name = path.rsplit("/", 1)[-1]
    evidence = Evidence()
    if status in (Status.MIGRATED, Status.IN_PROGRESS):
        evidence.chainsaw.append(ChainsawEvidence(f"tests/{name}/chainsaw-test.yaml", path, asserts=3))
    if status in (Status.LEGACY, Status.IN_PROGRESS):
        evidence.legacy.append(LegacyEvidence("kustomize", f"legacy/{name}", path))
    pair = name.rsplit("-", 1)[0] if name.endswith(("-core", "-extra")) else None
    return Module(path, name, group, status, evidence, pair=pair, component=component)


MODULES = [
    module("infrastructure/networking-core", Status.MIGRATED),
    module("infrastructure/networking-extra", Status.MIGRATED),
    module("infrastructure/storage-core", Status.IN_PROGRESS),
    module("infrastructure/monitoring", Status.LEGACY),
    module("apps/subsystems/media", Status.MIGRATED),
    module("apps/subsystems/chat", Status.UNTESTED),
]


def record(url: str, modules: list[Module] = MODULES, commit: str = "a" * 40, repository: str = "/srv/gitops") -> None:
    """Store a scan through the store's own function, as the scanner service does."""
    result = ScanResult(
        commit=commit,
        ref="main",
        commit_date=datetime(2026, 11, 1, tzinfo=UTC),
        modules=list(modules),
        components=[module("components/ingress", Status.MIGRATED, component=True)],
        warnings=[ScanWarning("tests/broken/chainsaw-test.yaml", "not valid YAML")],
    )
    with session_scope(url) as session:
        record_scan(session, result, repository, datetime.now(UTC))
