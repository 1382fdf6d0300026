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
from app.services.history import record_history
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
        return record_history(session, path, str(path))


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


def test_branches_cost_one_for_each_ref_and_at_most_one_rev_list_each(tmp_path: Path, db_url: str, git_calls) -> None:
    builder, repo = build_history_repo(tmp_path / "repo.git", commits=40, seed=5)
    tip = builder.head()
    for n in range(4):  # nothing of their own: one rev-list each says so, no tree is listed
        builder.branch(f"merged/{n}", tip)
    for n in range(3):  # a commit each: their tips and their one fork point are listed
        builder.write(f"docs/{n}.md", "notes\n")
        builder.commit(f"docs: {n}", branch=f"feature/{n}", parent=tip)
    builder.flush()
    builder.repo.close()

    calls = git_calls(lambda: backfill(db_url, builder.path))
    assert sum(line.startswith("for-each-ref") for line in calls) == 1
    assert sum(line.startswith("rev-list") for line in calls) == 1 + 3, "\n".join(calls)  # branches at one commit share one
    # the tip scan lists its tree; each branch tip's relevant files are its changes from the empty tree
    assert sum(line.startswith("ls-tree") for line in calls) == 1, "\n".join(calls)
    assert sum(line.startswith("diff-tree") for line in calls) == 3, "\n".join(calls)
