"""/healthz and /readyz: JSON, no sign-in, never cached, and readiness that means it."""

from __future__ import annotations

from alembic import command

from app.store.db import alembic_config
from app.store.jobs import claim_next, finish, queue_job
from app.store.db import session_scope

from .factory import record


def client_over(url: str, **settings):
    import warnings

    from app.config import Settings
    from app.web.main import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(create_app(Settings(database_url=url, **settings)), raise_server_exceptions=False)


def test_healthz_answers_without_the_database_or_a_sign_in(tmp_path) -> None:
    client = client_over(f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}", read_requires_signin=True)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert response.headers["cache-control"] == "no-store"


def test_ready_without_a_scan_and_after_a_failed_one_which_the_scan_check_explains(make_client, db_url, tmp_path) -> None:
    # A first scan that fails (bad git credentials) must not take every replica out of the Service:
    # the overview that shows why would be unreachable. The scan check is there to read, not a gate.
    client = make_client(repo=str(tmp_path), read_requires_signin=True)
    waiting = client.get("/readyz")
    assert waiting.status_code == 200 and waiting.headers["cache-control"] == "no-store"
    assert waiting.json()["checks"]["scan"] == {"ok": False, "detail": "no scan yet and none under way"}
    assert waiting.json()["checks"]["migrations"] == {"ok": True, "detail": "at head"}
    with session_scope(db_url) as session:
        job, _ = queue_job(session, str(tmp_path.resolve()), "start")
    assert client.get("/readyz").json() == {
        "ready": True,
        "checks": {"database": {"ok": True, "detail": "reachable"}, "migrations": {"ok": True, "detail": "at head"},
                   "scan": {"ok": True, "detail": "first scan queued"}},
    }  # fmt: skip
    with session_scope(db_url) as session:
        claim_next(session, "host:1:a")
        finish(session, job.id, "host:1:a", error="remote unreachable: https://git.example/x.git")
    failed = client.get("/readyz")
    assert failed.status_code == 200 and failed.json()["ready"] is True
    assert failed.json()["checks"]["scan"]["ok"] is False and "remote unreachable" in failed.json()["checks"]["scan"]["detail"]
    record(db_url, repository=str(tmp_path.resolve()))
    assert client.get("/readyz").json()["checks"]["scan"] == {"ok": True, "detail": "scanned"}


def test_not_ready_behind_the_migrations_or_without_a_database(make_client, db_url, tmp_path) -> None:
    command.downgrade(alembic_config(db_url), "0006")
    behind = make_client().get("/readyz")
    assert behind.status_code == 503
    assert behind.json()["checks"]["migrations"]["detail"].startswith("at 0006; head is ")
    gone = client_over(f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}").get("/readyz")
    assert gone.status_code == 503 and gone.json()["checks"]["database"]["ok"] is False
