"""/api/status, modules, the ETag/304 dance, and answering from memory."""

from __future__ import annotations

import time

from app.store.db import session_scope
from app.store.tokens import create_token

from .factory import MODULES, module, record
from app.scanner.model import Status


def test_status_counts_match_the_scan(scanned, client) -> None:
    body = client.get("/api/status").json()
    assert body["summary"] == {
        "counts": {"untested": 1, "legacy": 1, "in_progress": 1, "migrated": 3},
        "total": 6,
        "migrated": 3,
        "percent": 50,
    }
    assert body["groups"]["apps"]["total"] == 2
    assert body["groups"]["infrastructure"]["migrated"] == 2
    assert [m["path"] for m in body["components"]] == ["components/ingress"]
    assert body["last_scan"]["commit"] == "a" * 40
    assert body["last_scan"]["warnings"] == [{"path": "tests/broken/chainsaw-test.yaml", "reason": "not valid YAML"}]


def test_status_before_any_scan_is_empty_not_an_error(client) -> None:
    response = client.get("/api/status")
    assert response.status_code == 200
    assert response.json()["last_scan"] is None
    assert response.json()["summary"]["total"] == 0


def test_etag_and_304(scanned, client) -> None:
    first = client.get("/api/status")
    etag = first.headers["etag"]
    assert "no-cache" in first.headers["cache-control"]
    again = client.get("/api/status", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert client.get("/api/status", headers={"If-None-Match": '"other"'}).status_code == 200
    # (weak already when the answer came gzipped: app.web.compress)
    assert client.get("/api/status", headers={"If-None-Match": f'"x", W/{etag.removeprefix("W/")}'}).status_code == 304
    assert client.get("/api/status", headers={"If-None-Match": "*"}).status_code == 304


def test_a_new_scan_changes_the_answer_and_the_etag(scanned, client, db_url) -> None:
    first = client.get("/api/status")
    record(db_url, [*MODULES[:-1], module("apps/subsystems/chat", Status.MIGRATED)], commit="b" * 40)
    second = client.get("/api/status", headers={"If-None-Match": first.headers["etag"]})
    assert second.status_code == 200
    assert second.json()["summary"]["migrated"] == 4
    assert second.headers["etag"] != first.headers["etag"]


def test_status_is_served_from_memory_until_the_store_changes(scanned, client, db_url) -> None:
    for _ in range(5):
        client.get("/api/status")
        client.get("/badge/migration.svg")
    memo = client.app.state.status_memo
    assert memo.builds == 1
    with session_scope(db_url) as session:  # any write, not only a scan, moves the version
        create_token(session, "carol")
    client.get("/api/status")
    assert memo.builds == 2


def test_another_process_writing_is_noticed(scanned, client, db_url) -> None:
    import subprocess
    import sys

    client.get("/api/status")
    code = (
        "from app.store.db import session_scope; from app.store.tokens import create_token;"
        f"ctx = session_scope({db_url!r});"
        "s = ctx.__enter__(); create_token(s, 'dave'); ctx.__exit__(None, None, None)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    # SQLite: at once (the file's WAL index moved); PostgreSQL: once the announced commit arrives (NOTIFY)
    deadline = time.monotonic() + 10.0
    while client.get("/api/status") and client.app.state.status_memo.builds < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.app.state.status_memo.builds == 2


def test_modules_and_one_module(scanned, client) -> None:
    modules = client.get("/api/modules").json()
    assert len(modules) == 7  # six modules and one component
    assert client.get("/api/modules", params={"status": "legacy"}).json()[0]["path"] == "infrastructure/monitoring"
    assert {m["group"] for m in client.get("/api/modules", params={"group": "apps"}).json()} == {"apps"}
    one = client.get("/api/modules/apps/subsystems/media").json()
    assert one["status"] == "migrated"
    assert one["evidence"]["chainsaw"][0]["test_file"] == "tests/media/chainsaw-test.yaml"


def test_unknown_module_is_a_json_404(scanned, client) -> None:
    response = client.get("/api/modules/nowhere/at-all")
    assert response.status_code == 404
    assert response.json() == {"error": {"status": 404, "message": "no module at 'nowhere/at-all' in the last scan", "field": None}}


HOT = ["/api/status", "/badge/migration.svg", "/badge/blockers.svg", "/api/badge/migration", "/api/badge/blockers",
       "/badge/migration.svg?group=apps", "/api/badge/migration?group=infrastructure"]  # fmt: skip


def test_hot_reads_run_no_sql_until_the_store_changes(scanned, make_client, db_url, new_token) -> None:
    import threading

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    token = new_token("alice")
    client = make_client(read_requires_signin=True)  # the token check is on the path too
    signed = {"Authorization": f"Bearer {token}"}
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        # PostgreSQL's announcements are listened for by one thread per process, never by a request
        if threading.current_thread().name != "sawmill-store-watch":
            statements.append(statement)

    event.listen(Engine, "before_cursor_execute", count)  # every engine, whoever made it
    try:
        etags = {url: client.get(url, headers=signed).headers["etag"] for url in HOT}  # builds the snapshot
        statements.clear()
        for _ in range(3):
            for url in HOT:
                assert client.get(url, headers=signed).status_code == 200
                assert client.get(url, headers={**signed, "If-None-Match": etags[url]}).status_code == 304
        assert statements == []
        with session_scope(db_url) as session:
            create_token(session, "bob")
        statements.clear()
        assert client.get("/api/status", headers=signed).status_code == 200
        assert statements  # the store changed: one rebuild, which the listener sees
    finally:
        event.remove(Engine, "before_cursor_execute", count)
