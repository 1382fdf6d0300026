"""Two ``sawmill serve`` replicas over one PostgreSQL: a change made through one shows in the
other within a second, a job runs on exactly one, the fetch timer fires on one, and a replica
killed mid-job leaves its job to the other."""

from __future__ import annotations

import shutil
import signal
import time

import httpx
import pytest
from sqlmodel import func, select

from app.repobuilder.gitops import build_seed_repo
from app.store.db import session_scope
from app.store.jobs import Job, Lease
from app.store.progress_doc import import_document
from app.store.scans import Scan
from app.store.tokens import create_token
from tests.serve import Serve, wait_for
from tests.services.test_restart import jobs, long_history, running  # noqa: F401  (fixture)

from tests.api.test_api_progress import DOCUMENT


@pytest.fixture
def replicas(postgres_db, tmp_path):
    started: list[Serve] = []

    def start(repo, **env) -> Serve:
        server = Serve(postgres_db, tmp_path / f"data-{len(started)}", SAWMILL_REPO=str(repo), **env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


def count(url: str, model, *where) -> int:
    with session_scope(url) as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def test_a_change_through_one_replica_shows_in_the_other_while_it_runs(replicas, postgres_db, tmp_path) -> None:
    repo = build_seed_repo(tmp_path / "platform")
    a = replicas(repo)
    b = replicas(repo)
    wait_for(lambda: (s := b.status())["last_scan"] and not s["jobs"]["active"], "the first scan")
    with session_scope(postgres_db, str(repo.resolve())) as session:
        import_document(session, DOCUMENT.read_bytes(), who="test")
        token = create_token(session, "alice")
    wait_for(lambda: b.status()["open_blockers"], "the document on b")
    blocker = httpx.get(f"{a.url}/api/blockers").json()["open"][0]
    badge = httpx.get(f"{b.url}/badge/blockers.svg").text

    answer = httpx.post(f"{a.url}/api/blockers/{blocker['id']}/resolve", json={"version": blocker["version"], "note": "done"},
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    # b's cache follows a's announced commits (NOTIFY; how fast is bench_replicas'
    # business, not a timed assertion's): it sees the write long before any fetch timer or restart.
    wait_for(lambda: blocker["id"] not in [x["id"] for x in b.status()["open_blockers"]], "b to see it", timeout=10)
    assert httpx.get(f"{b.url}/badge/blockers.svg").text != badge
    assert "done" in httpx.get(f"{b.url}/blockers").text


def test_a_job_runs_on_exactly_one_replica_and_the_timer_fires_on_one(replicas, postgres_db, tmp_path) -> None:
    repo = build_seed_repo(tmp_path / "platform")
    a = replicas(repo, SAWMILL_FETCH_INTERVAL="1")
    b = replicas(repo, SAWMILL_FETCH_INTERVAL="1")
    wait_for(lambda: (s := a.status())["last_scan"] and not s["jobs"]["active"], "the first scan")
    key = str(repo.resolve())
    with session_scope(postgres_db, key) as session:
        token = create_token(session, "alice")
    scans = count(postgres_db, Scan)
    for server in (a, b):  # a Rescan on each: each its own job (or one joined), never one run twice
        assert httpx.post(f"{server.url}/api/scans", headers={"Authorization": f"Bearer {token}"}).status_code == 202
    wait_for(lambda: count(postgres_db, Job, Job.state.in_(("queued", "running")), Job.requested_by == "alice") == 0,
             "the rescans")  # fmt: skip
    forced = count(postgres_db, Job, Job.requested_by == "alice")
    assert count(postgres_db, Scan) - scans == forced  # one scan per job: no job ran on both

    ticks_from = count(postgres_db, Job, Job.requested_by == "timer")
    time.sleep(4.5)
    ticks = count(postgres_db, Job, Job.requested_by == "timer") - ticks_from
    assert 2 <= ticks <= 6  # one replica's timer (two would queue about twice as many)
    with session_scope(postgres_db) as session:
        (lease,) = session.exec(select(Lease)).all()
    assert lease.name == f"timer:{key}" and lease.owner.split(":")[1] in {str(a.process.pid), str(b.process.pid)}


def test_a_replica_killed_mid_job_leaves_the_job_to_the_other(replicas, postgres_db, long_history, tmp_path) -> None:  # noqa: F811
    repo = tmp_path / "platform.git"  # not there yet: both replicas are up before the long first scan starts
    a = replicas(repo)
    b = replicas(repo)
    shutil.copytree(long_history, repo)
    with session_scope(postgres_db) as session:
        token = create_token(session, "alice")
    assert httpx.post(f"{a.url}/api/scans", headers={"Authorization": f"Bearer {token}"}).status_code == 202
    cut = wait_for(lambda: running(a), "the first scan to start")
    (job,) = [j for j in jobs(postgres_db) if j.id == cut["id"]]
    runner, other = (a, b) if job.owner.split(":")[1] == str(a.process.pid) else (b, a)
    runner.stop(signal.SIGKILL)
    done = wait_for(lambda: (s := other.status())["last_scan"] and not s["jobs"]["active"] and s, "the other to finish it")
    assert done["summary"]["total"] > 0
    (finished,) = [j for j in jobs(postgres_db) if j.id == cut["id"]]
    assert finished.state == "done" and finished.owner.split(":")[1] == str(other.process.pid)


def test_replicas_starting_together_on_an_empty_database_migrate_one_after_the_other(postgres_server) -> None:
    """Both run every migration at start; the advisory lock makes the second wait, then find the schema at head."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import text

    from alembic.script import ScriptDirectory

    from app.store.db import alembic_config, get_engine, migrate

    postgres_server.execute("CREATE DATABASE empty_for_replicas")
    url = postgres_server.url("empty_for_replicas")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(migrate, [url] * 4))  # each raises if its upgrade collides with another's
    with get_engine(url).connect() as connection:
        head = ScriptDirectory.from_config(alembic_config(url)).get_heads()  # the newest revision, whichever it is
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == head


def test_every_replica_reads_the_scanned_commit_from_its_own_copy(replicas, postgres_db, tmp_path) -> None:
    """A repository by URL: each replica keeps a mirror of its own, and only one runs a scan. The
    drafts, parity and "what next" read the scanned commit from the replica's own mirror, so the
    other replica fetches it too, or it would answer 409 "cannot be read" where the first answers."""
    import subprocess

    repo = build_seed_repo(tmp_path / "platform")
    url = f"file://{repo.resolve()}"
    a = replicas(url)
    b = replicas(url)
    wait_for(lambda: (s := a.status())["last_scan"] and not s["jobs"]["active"], "the first scan")
    draft = "/modules/apps/subsystems/bitwarden/draft"
    for server in (a, b):
        wait_for(lambda: httpx.get(f"{server.url}/api/next", timeout=10).json()["graph_read"], "the graph on each")
        wait_for(lambda: httpx.get(f"{server.url}{draft}", timeout=10).status_code == 200, "a draft on each")

    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "a new tip"], check=True)
    tip = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    with session_scope(postgres_db, url) as session:
        token = create_token(session, "alice")
    assert httpx.post(f"{a.url}/api/scans", headers={"Authorization": f"Bearer {token}"}).status_code == 202
    wait_for(lambda: (s := b.status())["last_scan"]["commit"] == tip and not s["jobs"]["active"], "the new scan")
    for server in (a, b):
        wait_for(lambda: httpx.get(f"{server.url}{draft}", timeout=10).status_code == 200, "the new tip's draft on each")
