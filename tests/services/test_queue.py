"""The job queue in the store: deduplicated, one running job per repository, taken up after a crash."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from app.store import jobs
from app.store.db import session_scope

REPO = "https://git.example/platform.git"


def queue(db_url: str, **kw) -> tuple[int, bool]:
    with session_scope(db_url) as session:
        job, new = jobs.queue_job(session, kw.pop("repository", REPO), kw.pop("who", "alice"), **kw)
        return job.id, new


def claim(db_url: str, owner: str = "host:1:a", repositories=None):
    with session_scope(db_url) as session:
        return jobs.claim_next(session, owner, repositories)


def test_fifty_requests_for_one_repository_make_one_waiting_job_with_every_commit_wanted(db_url):
    ids = {queue(db_url, want={"refs/heads/main": f"{n:040x}"}, who="webhook:github")[0] for n in range(50)}
    assert len(ids) == 1
    queue(db_url, want={"refs/heads/feature": "f" * 40})
    with session_scope(db_url) as session:
        (job,) = jobs.queue_state(session)
    assert job.want == {"refs/heads/main": f"{49:040x}", "refs/heads/feature": "f" * 40}


def test_a_request_joining_a_waiting_job_keeps_force_and_the_earliest_time(db_url):
    later = jobs.utcnow() + timedelta(minutes=5)
    first, _ = queue(db_url, run_after=later)
    second, new = queue(db_url, force=True)
    assert (second, new) == (first, False)
    with session_scope(db_url) as session:
        job = jobs.get_job(session, first)
        assert job.force and jobs.aware(job.run_after) < later


def test_one_job_runs_at_a_time_per_repository_and_other_repositories_are_not_held_up(db_url):
    queue(db_url)
    running = claim(db_url)
    assert running is not None and running.state == jobs.RUNNING
    queue(db_url)  # a push while it runs: a new job waits for it
    assert claim(db_url, "host:2:b") is None
    other, _ = queue(db_url, repository="/srv/other")
    assert claim(db_url, "host:2:b").id == other
    with session_scope(db_url) as session:
        assert jobs.finish(session, running.id, "host:1:a", scanned=True)
    assert claim(db_url, "host:2:b") is not None


def test_a_worker_claims_only_its_own_repositories_and_never_a_job_twice(db_url):
    queue(db_url)
    assert claim(db_url, repositories=["/srv/other"]) is None
    assert claim(db_url, "host:1:a", [REPO]) is not None
    assert claim(db_url, "host:2:b", [REPO]) is None


def test_a_job_not_due_yet_waits(db_url):
    queue(db_url, run_after=jobs.utcnow() + timedelta(minutes=1))
    assert claim(db_url) is None


def test_a_job_whose_worker_died_is_queued_again_and_its_late_finish_is_refused(db_url):
    queue(db_url)
    job = claim(db_url, "host:1:dead")
    with session_scope(db_url) as session:
        assert jobs.recover(session, is_dead=lambda owner: owner == "host:1:dead") == [job.id]
    again = claim(db_url, "host:2:alive")
    assert again.id == job.id
    with session_scope(db_url) as session:
        assert not jobs.finish(session, job.id, "host:1:dead")  # the dead worker no longer owns it
        assert jobs.finish(session, job.id, "host:2:alive", error="remote unreachable")
        assert jobs.get_job(session, job.id).state == jobs.FAILED


def test_a_silent_heartbeat_counts_as_dead_and_a_beating_one_does_not(db_url):
    queue(db_url)
    job = claim(db_url)
    later = jobs.utcnow() + jobs.STALE - timedelta(seconds=1)
    with session_scope(db_url) as session:
        assert jobs.recover(session, is_dead=lambda _owner: False, now=later) == []
        assert jobs.recover(session, is_dead=lambda _owner: False, now=later + timedelta(seconds=2)) == [job.id]


def test_release_puts_a_running_job_back_for_the_next_start(db_url):
    queue(db_url)
    job = claim(db_url)
    with session_scope(db_url) as session:
        assert jobs.release(session, job.id, "host:1:a")
        assert jobs.get_job(session, job.id).state == jobs.QUEUED


def test_the_view_shows_the_running_job_and_a_failure_until_a_job_succeeds(db_url):
    queue(db_url)
    job = claim(db_url)
    with session_scope(db_url) as session:
        jobs.beat(session, job.id, "host:1:a", "history", 0.42, "4f3c2a1" + "0" * 33)
        view = jobs.job_view(session, REPO)
    assert view["active"]["phase"] == "history" and view["active"]["progress"] == 0.42 and view["failed"] is None
    with session_scope(db_url) as session:
        jobs.finish(session, job.id, "host:1:a", error="authentication failed for https://git.example/platform.git")
        jobs.queue_job(session, REPO, "retry", run_after=jobs.utcnow() + timedelta(seconds=20), attempts=1)
        view = jobs.job_view(session, REPO)
    assert view["active"] is None  # the retry waits: nothing runs now
    assert view["failed"]["error"].startswith("authentication failed") and view["failed"]["retry_at"] is not None
    with session_scope(db_url) as session:
        retry = jobs.claim_next(session, "host:1:a", now=jobs.utcnow() + timedelta(minutes=1))
        jobs.finish(session, retry.id, "host:1:a")
        assert jobs.job_view(session, REPO)["failed"] is None


def test_a_push_the_running_job_was_asked_for_joins_it_and_a_new_commit_waits(db_url):
    queue(db_url, want={"refs/heads/main": "a" * 40})
    running = claim(db_url)
    assert queue(db_url, want={"refs/heads/main": "a" * 40}) == (running.id, False)
    newer, new = queue(db_url, want={"refs/heads/main": "b" * 40})
    assert new and newer != running.id
    assert queue(db_url, force=True)[0] == newer  # Rescan never joins a job already under way


def test_one_process_holds_the_timer_until_its_lease_lapses(db_url):
    ttl = timedelta(seconds=30)
    with session_scope(db_url) as session:
        assert jobs.take_lease(session, "timer:x", "host:1:a", ttl)
        assert not jobs.take_lease(session, "timer:x", "host:2:b", ttl)  # another replica: its timer stays quiet
        assert jobs.take_lease(session, "timer:x", "host:1:a", ttl)  # the holder renews
        assert jobs.take_lease(session, "timer:y", "host:2:b", ttl)  # another repository's timer is apart
        later = jobs.utcnow() + ttl + timedelta(seconds=1)
        assert jobs.take_lease(session, "timer:x", "host:2:b", ttl, now=later)  # the holder stopped renewing
        assert not jobs.take_lease(session, "timer:x", "host:1:a", ttl, now=later)


def at_once(db_url: str, count: int, work) -> list:
    """``work(session)`` in ``count`` threads started together, each in its own transaction, which
    stays open a moment after the work (as a request's does while it finishes): what one of them
    wrote is not committed yet when the others look."""
    start, results, errors = threading.Barrier(count), [], []

    def run() -> None:
        try:
            start.wait()
            with session_scope(db_url, REPO) as session:
                results.append(work(session))
                time.sleep(0.1)
        except Exception as exc:  # noqa: BLE001  (reported below, with the others)
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_requests_at_once_for_one_repository_make_one_waiting_job(db_url):
    for n in range(3):
        at_once(db_url, 6, lambda session: jobs.queue_job(session, REPO, "webhook:github", want={f"refs/heads/b{n}": "a" * 40}))
        with session_scope(db_url) as session:
            waiting = [j for j in jobs.queue_state(session) if j.state == jobs.QUEUED]
        assert len(waiting) == 1, f"round {n}: {len(waiting)} jobs waiting"
        assert claim(db_url) is not None
        with session_scope(db_url) as session:
            (running,) = jobs.queue_state(session)
            jobs.finish(session, running.id, "host:1:a")


def test_workers_claiming_at_once_run_one_job_of_a_repository(db_url):
    for n in range(6):  # a job per ref: the workers do not all reach for the same one
        queue(db_url, ref=f"refs/heads/b{n}")
    claimed = at_once(db_url, 6, lambda session: jobs.claim_next(session, f"host:{threading.get_ident()}:a", [REPO]))
    assert len([job for job in claimed if job is not None]) == 1
    with session_scope(db_url) as session:
        assert [j.state for j in jobs.queue_state(session)].count(jobs.RUNNING) == 1


def test_a_request_while_the_worker_ends_a_failed_job_and_queues_its_retry_waits_its_turn(db_url):
    """The worker ends a failed job and queues its retry in one transaction; a webhook's request
    arriving in between used to hold the repository's turn and wait for the job's row, which the
    worker held while it waited for the turn: PostgreSQL broke the deadlock by failing the request."""
    job_id, _ = queue(db_url)
    running = claim(db_url)
    assert running.id == job_id
    errors: list[Exception] = []

    def worker() -> None:
        try:
            with session_scope(db_url, REPO) as session:
                assert jobs.finish(session, job_id, running.owner, error="fetch failed")
                time.sleep(0.5)  # the request comes in now
                jobs.queue_job(session, REPO, "retry", attempts=1)
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    def request() -> None:
        time.sleep(0.2)
        try:
            with session_scope(db_url, REPO) as session:
                jobs.queue_job(session, REPO, "webhook:github", want={"refs/heads/main": "b" * 40})
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=worker), threading.Thread(target=request)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with session_scope(db_url) as session:
        waiting = [j for j in jobs.queue_state(session) if j.state == jobs.QUEUED]
    assert len(waiting) == 1  # the request joined the retry (or the retry the request): one job
