"""The service keeps itself current: a repository tracked by URL over a real git server
(smart HTTP, a private route behind a token), a real uvicorn running the app with its
worker, pushes found by the fetch timer or announced by a signed webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select

from app.repobuilder import RepoBuilder
from app.repobuilder.gitops import INFRA, GitOps, seed_history
from app.store.db import get_engine, session_scope
from app.store.jobs import Job
from tests.browser.conftest import gitops_repo, serve  # noqa: F401  (fixtures: a real uvicorn, a checked-out repo)
from tests.gitserver import GitServer, git_server  # noqa: F401  (fixture)
from tests.serve import wait_for

SECRET = "webhook-secret-for-the-live-tests"
STORAGE = f"{INFRA}/storage-core"


@pytest.fixture
def platform(git_server, tmp_path: Path) -> tuple[GitServer, GitOps]:  # noqa: F811
    """The seed repository, served privately and publicly, its writer kept open for pushes."""
    server = git_server(root=tmp_path / "srv")
    builder = RepoBuilder(server.create("platform"), bare=True)
    gitops = GitOps(builder)
    seed_history(gitops)
    builder.flush()
    yield server, gitops
    builder.repo.close()


def push_migration(gitops: GitOps, suite: str = "infra-storage", pr: int = 901) -> str:
    """A commit migrating ``suite`` lands on the served main, as a merged pull request would."""
    done = gitops.migrate_suite(suite, pr=pr)
    gitops.builder.flush()
    return done.sha


def status(live) -> dict:
    return httpx.get(f"{live.url}/api/status", timeout=10).json()


def idle_with_scan(live) -> dict | None:
    body = status(live)
    return body if body["last_scan"] and not body["jobs"]["active"] else None


def module_status(body: dict, path: str) -> str:
    return next(m["status"] for m in body["modules"] if m["path"] == path)


def signed_push(live, sha: str, ref: str = "refs/heads/main") -> httpx.Response:
    body = json.dumps({"ref": ref, "after": sha}).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha256={signature}", "Content-Type": "application/json"}
    return httpx.post(f"{live.url}/api/hooks/github", content=body, headers=headers, timeout=10)


def jobs_of(db_url: str) -> list[Job]:
    with session_scope(db_url) as session:
        return list(session.exec(select(Job).order_by(Job.id)))


def test_a_private_repository_by_url_is_scanned_on_start_and_a_push_found_within_one_interval(
    platform, serve, tmp_path, db_url  # noqa: F811
) -> None:
    server, gitops = platform
    live = serve(repo=server.url("platform", private=True), git_token=server.token, data_dir=tmp_path / "data",
                 fetch_interval=1)  # fmt: skip
    first = wait_for(lambda: idle_with_scan(live), "the first scan")
    assert first["summary"]["total"] == 18 and module_status(first, STORAGE) == "legacy"
    assert first["last_scan"]["repository"] == server.url("platform", private=True)  # the URL, no credentials in it
    assert (tmp_path / "data" / "mirrors").is_dir() and not any((tmp_path / "data" / "mirrors").glob("*/*.yaml"))

    sha = push_migration(gitops)
    moved = wait_for(lambda: (b := status(live))["last_scan"]["commit"] == sha and b, "the timer to find the push")
    assert module_status(moved, STORAGE) == "migrated"
    scanned_by = [j.requested_by for j in jobs_of(db_url) if j.scanned]
    assert scanned_by[0] == "start" and scanned_by[-1] == "timer"
    assert all(j.state != "running" for j in jobs_of(db_url)[:-1])


def test_a_signed_webhook_brings_a_push_at_once_and_a_burst_costs_one_fetch_and_one_scan(
    platform, serve, tmp_path, db_url  # noqa: F811
) -> None:
    server, gitops = platform
    live = serve(repo=server.url("platform"), data_dir=tmp_path / "data", fetch_interval=0, webhook_secret=SECRET)
    wait_for(lambda: idle_with_scan(live), "the first scan")
    before = len(jobs_of(db_url))

    sha = push_migration(gitops)
    answers = [signed_push(live, sha) for _ in range(50)]
    assert {a.status_code for a in answers} == {202}
    moved = wait_for(lambda: (b := idle_with_scan(live)) and b["last_scan"]["commit"] == sha and b, "the pushed commit")
    assert module_status(moved, STORAGE) == "migrated"
    burst = jobs_of(db_url)[before:]
    assert [j.requested_by for j in burst] == ["webhook:github"] * len(burst) and len(burst) <= 2
    assert {a.json()["job"] for a in answers} == {j.id for j in burst}
    assert sum(j.fetched for j in burst) == 1 and sum(j.scanned for j in burst) == 1
    assert all(j.state == "done" for j in burst)


def test_a_bad_signature_queues_nothing_on_a_live_server(platform, serve, tmp_path, db_url) -> None:  # noqa: F811
    server, _gitops = platform
    live = serve(repo=server.url("platform"), data_dir=tmp_path / "data", fetch_interval=0, webhook_secret=SECRET)
    wait_for(lambda: idle_with_scan(live), "the first scan")
    before = len(jobs_of(db_url))
    body = json.dumps({"ref": "refs/heads/main", "after": "1" * 40}).encode()
    forged = hmac.new(b"guessed", body, hashlib.sha256).hexdigest()
    response = httpx.post(f"{live.url}/api/hooks/github", content=body,
                          headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha256={forged}"})  # fmt: skip
    assert response.status_code == 401
    assert len(jobs_of(db_url)) == before


def test_the_remote_going_away_shows_why_retries_and_keeps_the_last_good_scan(
    platform, serve, tmp_path, db_url, caplog  # noqa: F811
) -> None:
    server, _gitops = platform
    caplog.set_level(logging.INFO)
    url = server.url("platform", private=True).replace("http://", f"http://x-access-token:{server.token}@")
    live = serve(repo=url, data_dir=tmp_path / "data", fetch_interval=0)
    good = wait_for(lambda: idle_with_scan(live), "the first scan")
    server.stop()
    token = live.token("alice")
    job = httpx.post(f"{live.url}/api/scans", headers={"Authorization": f"Bearer {token}"}).json()

    def failed() -> dict | None:
        state = httpx.get(f"{live.url}/api/scans/{job['id']}").json()
        return state if state["state"] == "failed" else None

    assert "unreachable" in wait_for(failed, "the fetch to fail")["error"]
    now = status(live)
    assert now["summary"] == good["summary"] and now["last_scan"]["commit"] == good["last_scan"]["commit"]
    assert "unreachable" in now["jobs"]["failed"]["error"] and now["jobs"]["failed"]["retry_at"]
    page = httpx.get(f"{live.url}/").text
    assert "The last update failed" in page and "unreachable" in page and 'data-testid="migrated"' in page
    # the credentials given inside the URL appear nowhere a person or a log could read them
    seen = [json.dumps(now), page, json.dumps(failed()), caplog.text, httpx.get(f"{live.url}/api/modules").text]
    assert not [text for text in seen if server.token in text]
    assert server.token not in stored_text(db_url)
    if db_url.startswith("sqlite:///"):  # nor in the file's free pages or its WAL
        database = Path(db_url.removeprefix("sqlite:///"))
        assert server.token.encode() not in b"".join(p.read_bytes() for p in database.parent.glob("sawmill.db*"))
    assert not [p for p in (tmp_path / "data").rglob("*") if p.is_file() and server.token.encode() in p.read_bytes()]


def stored_text(url: str) -> str:
    """Every value of every table, as text: what the store keeps, on any database."""
    metadata = sa.MetaData()
    metadata.reflect(get_engine(url))
    with get_engine(url).connect() as connection:
        return "".join(repr(connection.execute(sa.select(table)).all()) for table in metadata.sorted_tables)


def test_a_path_is_re_read_each_interval_a_start_over_a_current_scan_scans_nothing(
    gitops_repo, serve, tmp_path, db_url  # noqa: F811
) -> None:
    from app.services import scan_and_store

    path, gitops = gitops_repo
    scan_and_store(db_url, path)  # as `sawmill scan` left it
    live = serve(repo=str(path), data_dir=tmp_path / "data", fetch_interval=1)
    wait_for(lambda: [j for j in jobs_of(db_url) if j.state == "done"], "the start's sync")
    assert [j.scanned for j in jobs_of(db_url)] == [False]  # the refs are those the scan saw: nothing to do
    sha = push_migration(gitops)
    moved = wait_for(lambda: (b := status(live))["last_scan"]["commit"] == sha and b, "the timer to see the commit")
    assert module_status(moved, STORAGE) == "migrated"


def test_a_history_dropped_to_be_walked_again_is_walked_at_the_next_tick_though_nothing_moved(
    gitops_repo, tmp_path, db_url  # noqa: F811
) -> None:
    """An upgrade that drops a history (0013: one stored twice) leaves the refs as the last scan
    saw them; the next tick must scan all the same, or the history stays empty until a push."""
    from app.config import Settings
    from app.services import scan_and_store
    from app.services.jobs import request_sync
    from app.services.worker import Worker
    from app.store.history import history_state

    path, _ = gitops_repo
    scan_and_store(db_url, path)
    settings = Settings(repo=str(path), database_url=db_url, data_dir=tmp_path / "data")
    request_sync(settings, "timer")
    assert Worker(settings).run_one() and [j.scanned for j in jobs_of(db_url)] == [False]  # walked: nothing to do

    with get_engine(db_url).begin() as connection:  # what 0013 does to a history stored twice
        for table in ("history_event", "history_state"):
            connection.execute(sa.text(f"DELETE FROM {table}"))
    request_sync(settings, "timer")
    assert Worker(settings).run_one() and [j.scanned for j in jobs_of(db_url)] == [False, True]
    with session_scope(db_url) as session:
        assert history_state(session, str(path)) is not None
