"""Commits whose dates git takes but Python's datetime does not: a scan reads them all the same."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.repobuilder.gitops import build_seed_repo
from app.scanner import GitSource, scan
from app.scanner.source import git_date
from app.services.scan import scan_and_store
from app.store.db import session_scope
from app.store.history import events

NORMAL = "1700000000 +0000"


def git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], input=stdin, capture_output=True, check=True).stdout.decode().strip()


def redate(repo: Path, committer_date: str) -> str:
    """Write main's tip again with ``committer_date`` (``<stamp> <offset>``), as an imported
    repository may hold it (git itself takes it, with ``hash-object --literally``)."""
    lines = git(repo, "cat-file", "commit", "main").split("\n")
    lines = [f"{line.rsplit(' ', 2)[0]} {committer_date}" if line.startswith("committer ") else line for line in lines]
    sha = git(repo, "hash-object", "-t", "commit", "--literally", "-w", "--stdin", stdin=("\n".join(lines) + "\n").encode())
    git(repo, "update-ref", "refs/heads/main", sha)
    return sha


def commit_on_top(repo: Path) -> str:
    """A commit with a normal date over main's tip (it changes nothing)."""
    env = {**os.environ, "GIT_COMMITTER_DATE": NORMAL, "GIT_AUTHOR_DATE": NORMAL}
    sha = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=a", "-c", "user.email=a@x", "commit-tree", "main^{tree}", "-p", "main", "-m", "later"],
        env=env, capture_output=True, check=True,
    ).stdout.decode().strip()  # fmt: skip
    git(repo, "update-ref", "refs/heads/main", sha)
    return sha


ODD = [
    ("1700000000 +9959", datetime.fromtimestamp(1700000000, UTC)),  # an offset past a day: UTC
    ("1700000000 -2400", datetime.fromtimestamp(1700000000, UTC)),
    ("99999999999999 +0000", datetime(9999, 12, 30, tzinfo=UTC)),  # year 3170843: the latest datetime holds
    ("99999999999999 +9959", datetime(9999, 12, 30, tzinfo=UTC)),
]


@pytest.mark.parametrize(("committer_date", "expected"), ODD)
def test_a_tip_with_an_odd_date_is_scanned(tmp_path: Path, db_url: str, committer_date: str, expected: datetime) -> None:
    repo = build_seed_repo(tmp_path / "repo")
    redate(repo, committer_date)
    with GitSource(repo) as source:
        assert source.resolve("main").date == expected
    assert scan(repo).modules  # the scan itself
    stored, _result = scan_and_store(db_url, repo)  # and a job's: scan, history, branches
    assert stored.id is not None


@pytest.mark.parametrize(("committer_date", "expected"), ODD)
def test_the_history_walks_past_a_commit_with_an_odd_date(
    tmp_path: Path, db_url: str, committer_date: str, expected: datetime
) -> None:
    repo = build_seed_repo(tmp_path / "repo")
    odd = redate(repo, committer_date)  # the seed's last commit adds a module: the walk reads it
    commit_on_top(repo)
    scan_and_store(db_url, repo)
    with session_scope(db_url) as session:
        found = [e for e in events(session, str(repo.resolve())) if e["commit"] == odd]
    assert found
    assert {datetime.fromisoformat(e["date"]).astimezone(UTC) for e in found} == {expected}


def test_git_dates_keep_every_offset_a_timezone_can_hold() -> None:
    assert git_date(b"1700000000", b"+0530").utcoffset() == timedelta(hours=5, minutes=30)
    assert git_date("1700000000", "-2359") == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert git_date("1700000000", "-2359").tzinfo == timezone(-timedelta(hours=23, minutes=59))
    assert git_date("-99999999999999") == datetime(1, 1, 2, tzinfo=UTC)
    assert git_date("not a number", "+zz") == datetime(1970, 1, 1, tzinfo=UTC)
