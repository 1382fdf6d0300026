"""Entries against the history (issue 15, point 2): a removed module is retired, a renamed one is followed,
and a module named in passing is not missing. Store level, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import INFRA, GitOps, seed_history
from app.services import scan_and_store
from app.store import progress_read as read
from app.store.progress_doc import export_document
from app.store.progress_sync import missing_modules
from tests.progress.conftest import run


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed repository; clusterops migrated, then clusterops-extra removed; networking-extra renamed
    to net-extra, then networking migrated; ghost-core born and removed while legacy."""
    path = tmp_path_factory.mktemp("retired") / "platform"
    with RepoBuilder(path) as builder:
        gitops = GitOps(builder)
        seed_history(gitops)
        gitops.migrate_suite("infra-clusterops", pr=900)
        gitops.remove_module(f"{INFRA}/clusterops-extra", pr=901)
        gitops.rename_module(f"{INFRA}/networking-extra", f"{INFRA}/net-extra", pr=902)
        gitops.migrate_suite("infra-networking", pr=903)
        gitops.add_module(f"{INFRA}/ghost-core")
        gitops.add_legacy_suite("infra-ghost", [f"{INFRA}/ghost-core"])
        gitops.commit("feat: ghost")
        gitops.remove_module(f"{INFRA}/ghost-core", pr=904)
    return path


def entries(url: str) -> dict[str, dict]:
    return {e["text"]: e for e in run(url, read.migration_entries)["entries"]}


def test_removed_modules_are_retired_and_renamed_ones_followed(seeded: str, repo: Path) -> None:
    scan_and_store(seeded, repo)
    state = entries(seeded)
    clusterops = state["clusterops-core/extra modules"]
    assert (clusterops["done"], clusterops["scan_status"], clusterops["reason"]) == (True, "migrated", None)
    assert [n["status"] for n in clusterops["named"]] == ["migrated", "retired"]
    networking = state["networking-core/extra modules"]
    assert networking["done"] is True
    assert [(n["path"], n["status"]) for n in networking["named"]] == [
        (f"{INFRA}/networking-core", "migrated"), (f"{INFRA}/net-extra", "migrated")]  # fmt: skip
    assert state["storage-core module"]["reason"] == "storage-core is legacy"


def test_an_entry_of_retired_modules_only_is_ticked_and_says_retired(seed: bytes, db_url: str, repo: Path) -> None:
    from app.store.progress_doc import import_document

    text = seed.decode().replace("  - [ ] harbor app module\n", "  - [ ] harbor app module\n  - [ ] ghost-core module\n")
    run(db_url, import_document, text, who="alice")
    scan_and_store(db_url, repo)
    ghost = entries(db_url)["ghost-core module"]
    assert (ghost["done"], ghost["scan_status"], ghost["unknown_modules"]) == (True, "retired", [])
    assert "  - [x] ghost-core module\n" in run(db_url, export_document)


def test_a_module_named_in_passing_is_not_missing(seeded: str, repo: Path) -> None:
    scan_and_store(seeded, repo)
    missing = [m.path for m in run(seeded, missing_modules)]
    assert f"{INFRA}/kubernetes-core" not in missing and f"{INFRA}/kubernetes-extra" not in missing
    assert missing == ["apps/subsystems/bitwarden"]
