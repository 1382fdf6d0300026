"""A job cut off by a crash (kill -9) or a shutdown (SIGTERM) is taken up again on the next start,
never left running for good. The server is the real ``sawmill serve`` in a process of its own."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from app.store.db import session_scope
from app.store.jobs import Job
from bench.bench_history import build_history_repo
from tests.serve import Serve, wait_for


@pytest.fixture(scope="module")
def long_history(tmp_path_factory) -> Path:
    """A repository whose first scan (a history backfill of 30,000 commits) takes a few seconds: long
    enough to be caught under way. 6,000 commits became a second's walk, over before a poll saw it."""
    path = tmp_path_factory.mktemp("long") / "platform.git"
    builder, _ = build_history_repo(path, commits=30000)
    builder.repo.close()
    return path


@pytest.fixture
def server(db_url, long_history, tmp_path) -> Iterator[Serve]:
    made = Serve(db_url, tmp_path / "data", SAWMILL_REPO=str(long_history))
    yield made
    made.kill()


def jobs(db_url: str) -> list[Job]:
    with session_scope(db_url) as session:
        return list(session.exec(select(Job).order_by(Job.id)))


def running(server: Serve):
    """The job under way, once it has said which commit it scans."""
    active = server.status()["jobs"]["active"]
    return active if active and active["state"] == "running" and active["commit"] else None


def test_kill_9_mid_scan_then_start_again_the_job_finishes_and_nothing_stays_running(server, db_url) -> None:
    server.start()
    cut = wait_for(lambda: running(server), "the first scan to start")
    assert len(cut["commit"]) == 40 and cut["phase"] in ("scanning", "history")  # the overview: "Scanning 4f3c2a1, ..."
    server.stop(signal.SIGKILL)
    (left,) = [j for j in jobs(db_url) if j.id == cut["id"]]
    assert left.state == "running"  # as the crash left it

    server.start()
    done = wait_for(lambda: (s := server.status())["last_scan"] and not s["jobs"]["active"] and s, "the scan to finish")
    assert done["summary"]["total"] > 0
    after = {j.id: j for j in jobs(db_url)}
    assert after[cut["id"]].state == "done" and after[cut["id"]].scanned
    assert [j for j in after.values() if j.state == "running"] == []


def test_sigterm_mid_scan_ends_the_server_promptly_and_the_next_start_takes_the_job_up(server, db_url) -> None:
    server.start()
    cut = wait_for(lambda: running(server), "the first scan to start")
    assert server.stop(signal.SIGTERM) < 15  # not held for good by the job under way
    (left,) = [j for j in jobs(db_url) if j.id == cut["id"]]
    assert left.state in ("queued", "done")  # released for the next start, or it finished in the grace time
    server.start()
    wait_for(lambda: (s := server.status())["last_scan"] and not s["jobs"]["active"], "the scan to finish")
    assert [j for j in jobs(db_url) if j.state in ("running", "queued")] == []
