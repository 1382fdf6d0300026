"""Generated histories for the history tests: real repositories built with GitOps in tmp."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import APPS, INFRA, GitOps
from app.store.db import session_scope
from app.services.history import HistoryUpdate, record_history
from app.store.history import events

A_CORE, A_EXTRA, B_CORE, MEDIA = f"{INFRA}/a-core", f"{INFRA}/a-extra", f"{INFRA}/b-core", f"{APPS}/media"
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


class Days:
    """Commit dates a week apart, so forecasts have a clear velocity."""

    def __init__(self, start: datetime = START, step: timedelta = timedelta(days=7)) -> None:
        self.next, self.step = start, step

    def __call__(self) -> datetime:
        when, self.next = self.next, self.next + self.step
        return when


@pytest.fixture
def days() -> Days:
    return Days()


@pytest.fixture
def gitops(tmp_path: Path) -> Iterator[GitOps]:
    """A GitOps repository at tmp/repo; flush before reading it."""
    with RepoBuilder(tmp_path / "repo") as builder:
        yield GitOps(builder)


def base(repo: GitOps, when: datetime) -> None:
    """Four legacy modules in three suites."""
    for module in (A_CORE, A_EXTRA, B_CORE, MEDIA):
        repo.add_module(module)
    repo.add_legacy_suite("infra-a", [A_CORE, A_EXTRA])
    repo.add_legacy_suite("infra-b", [B_CORE])
    repo.add_legacy_suite("apps-media", [MEDIA])
    repo.commit("feat: platform modules with their tests", date=when)


def bump(repo: GitOps, module: str, version: str, when: datetime) -> None:
    """A commit that touches a module's content only (what most GitOps commits are)."""
    repo.builder.write(f"{module}/app/helmrelease.yaml", f"apiVersion: v1\nkind: ConfigMap\ndata: {{v: '{version}'}}\n")
    repo.commit(f"chore: bump {module.rsplit('/', 1)[1]} to {version}", date=when)


def update(db_url: str, path: Path, **options) -> HistoryUpdate:
    """``record_history`` keyed like a scan of ``path``."""
    with session_scope(db_url) as session:
        return record_history(session, path, str(path.resolve()), **options)


def stored(db_url: str, path: Path, module: str | None = None) -> list[dict]:
    with session_scope(db_url) as session:
        return events(session, str(path.resolve()), module)


def moves(items: list[dict]) -> list[tuple]:
    """The part of events that must not depend on how they were computed."""
    return [(e["path"], e["from"], e["to"], e["kind"], e["commit"], e["pr"], e["regression"]) for e in items]
