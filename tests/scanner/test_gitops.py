"""The GitOps layout builder: migrations, renames, removals, and the benchmark's repository."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import git

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import APPS, INFRA, GitOps, build_synthetic_repo
from app.scanner import scan
from tests.scanner.conftest import statuses

NET = [f"{INFRA}/networking-core", f"{INFRA}/networking-extra"]


def test_migrate_suite_is_one_commit_with_a_conventional_subject(tmp_path: Path) -> None:
    with RepoBuilder(tmp_path / "r") as builder:
        repo = GitOps(builder)
        for module in NET:
            repo.add_module(module, ("metallb", "traefik"))
        repo.add_legacy_suite("infra-networking", NET)
        before = repo.commit("feat: networking")
        after = repo.migrate_suite("infra-networking", pr=1010, date=datetime(2025, 3, 30, tzinfo=UTC))
    assert statuses(tmp_path / "r", ref=before.sha) == {"networking-core": "legacy", "networking-extra": "legacy"}
    assert statuses(tmp_path / "r") == {"networking-core": "migrated", "networking-extra": "migrated"}
    head = git.Repo(tmp_path / "r").commit("main")
    assert head.hexsha == after.sha
    assert head.summary == "refactor: migrate tests for infra-networking-core/infra-networking-extra to chainsaw (#1010)"
    assert head.committed_datetime == datetime(2025, 3, 30, tzinfo=UTC)


def test_rename_and_remove_modules(tmp_path: Path) -> None:
    with RepoBuilder(tmp_path / "r") as builder:
        repo = GitOps(builder)
        repo.add_module(f"{APPS}/media").add_module(f"{APPS}/coder")
        repo.add_legacy_suite("apps-media", [f"{APPS}/media"])
        repo.add_chainsaw_suite("apps-coder", [f"{APPS}/coder"], prerequisites=False)
        repo.commit("apps")
        repo.rename_module(f"{APPS}/coder", f"{APPS}/workspaces", pr=7)
        repo.rename_module(f"{APPS}/media", f"{APPS}/jellyfin")
        removed = repo.remove_module(f"{APPS}/jellyfin")
    assert statuses(tmp_path / "r", ref="HEAD~1") == {"jellyfin": "legacy", "workspaces": "migrated"}
    assert statuses(tmp_path / "r") == {"workspaces": "migrated"}
    result = scan(tmp_path / "r")
    assert result.warnings == []
    assert git.Repo(tmp_path / "r").commit(removed.sha).summary == "chore: remove jellyfin"


def test_synthetic_repository_has_about_a_thousand_files(tmp_path: Path) -> None:
    repo = build_synthetic_repo(tmp_path / "s.git")
    files = git.Repo(repo).git.ls_tree("-r", "--name-only", "HEAD").splitlines()
    assert 900 <= len(files) <= 1100
    result = scan(repo)
    assert result.summary.total == 40
    assert result.summary.counts["migrated"] == 20 and result.summary.counts["legacy"] == 20
    assert result.warnings == []
