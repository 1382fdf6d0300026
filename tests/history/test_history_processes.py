"""Never a process per commit: the git processes a backfill starts do not grow with the history.

Every ``git`` the walk starts goes through a stand-in on PATH that logs its
arguments and runs the real git, so the count is what the operating system saw.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from app.store.db import session_scope
from app.store.history import record_history
from bench.bench_history import build_history_repo


@pytest.fixture
def git_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A function that runs a callable and returns the git command lines it started."""
    real = shutil.which("git")
    assert real is not None
    bin_dir, log = tmp_path / "bin", tmp_path / "git-calls.log"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)

    def calls(fn) -> list[str]:
        log.write_text("")
        with monkeypatch.context() as patch:
            patch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
            fn()
        return log.read_text().splitlines()

    return calls


def backfill(db_url: str, path: Path):
    with session_scope(db_url) as session:
        return record_history(session, path)


def test_a_backfill_starts_as_many_git_processes_for_a_long_history_as_for_a_short_one(
    tmp_path: Path, db_url: str, git_calls
) -> None:
    short, _ = build_history_repo(tmp_path / "short.git", commits=40, seed=5)
    long, _ = build_history_repo(tmp_path / "long.git", commits=400, seed=5)
    short.repo.close()
    long.repo.close()
    done: dict[str, object] = {}

    few = git_calls(lambda: done.__setitem__("short", backfill(db_url, short.path)))
    many = git_calls(lambda: done.__setitem__("long", backfill(db_url, long.path)))

    assert done["long"].commits > 8 * done["short"].commits  # ten times the history...
    assert len(many) == len(few), "\n".join(many)  # ...the same processes
    assert len(many) <= 10, "\n".join(many)
    assert sum("--raw" in line.split() for line in many) == 1  # the one stream over the whole history
