"""What the overview and /api/status say of the job under way."""

from __future__ import annotations

import time

from app.store import jobs
from app.store.db import session_scope

from .factory import record


def test_the_overview_shows_the_scan_under_way_and_its_history_progress(make_client, db_url, tmp_path) -> None:
    client = make_client(repo=str(tmp_path))
    record(db_url)
    with session_scope(db_url) as session:
        job, _ = jobs.queue_job(session, str(tmp_path.resolve()), "timer")
        claimed = jobs.claim_next(session, "host:1:a")
        jobs.beat(session, claimed.id, "host:1:a", "history", 0.42, "4f3c2a1" + "0" * 33)
    page = client.get("/").text
    assert "Scanning <code>4f3c2a10</code>, history 42%" in " ".join(page.split())
    assert 'hx-trigger="every 1s' in page  # it polls fast while the job runs
    active = client.get("/api/status").json()["jobs"]["active"]
    assert active == {"id": job.id, "state": "running", "phase": "history", "progress": 0.42,
                      "commit": "4f3c2a1" + "0" * 33, "requested_by": "timer"}  # fmt: skip


def test_an_unchanged_overview_answers_its_poll_with_204(make_client, db_url, tmp_path) -> None:
    client = make_client(repo=str(tmp_path))
    record(db_url)
    client.get("/")
    page = client.get("/").text
    since = page.split('hx-get="/?since=', 1)[1].split('"', 1)[0]
    poll = {"HX-Request": "true"}
    assert client.get(f"/?since={since}", headers=poll).status_code == 204
    assert client.get(f"/?since={since}").status_code == 200  # a person opening that address gets the page
    record(db_url)  # a scan made elsewhere
    assert client.get(f"/?since={since}", headers=poll).status_code == 200
