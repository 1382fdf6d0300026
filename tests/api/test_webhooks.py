"""Push webhooks: signed deliveries queue one fetch and scan; anything else queues nothing."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from sqlmodel import select

from app.store.db import session_scope
from app.store.jobs import Job

SECRET = "a-webhook-secret-of-some-length"
PUSH = {"ref": "refs/heads/main", "before": "1" * 40, "after": "2" * 40, "repository": {"full_name": "org/platform"}}


def signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github(body: bytes, event: str = "push", secret: str = SECRET) -> dict:
    return {"X-GitHub-Event": event, "X-Hub-Signature-256": f"sha256={signature(body, secret)}",
            "Content-Type": "application/json"}  # fmt: skip


def gitea(body: bytes, event: str = "push", header: str = "X-Gitea") -> dict:
    return {f"{header}-Event": event, f"{header}-Signature": signature(body), "Content-Type": "application/json"}


def gitlab(event: str = "Push Hook", token: str = SECRET) -> dict:
    return {"X-Gitlab-Event": event, "X-Gitlab-Token": token, "Content-Type": "application/json"}


def jobs(db_url: str) -> list[Job]:
    with session_scope(db_url) as session:
        return list(session.exec(select(Job)))


@pytest.fixture
def hooked(make_client, tmp_path):
    return make_client(repo=str(tmp_path), webhook_secret=SECRET)


BODY = json.dumps(PUSH).encode()


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/hooks/github", github(BODY)),
        ("/api/hooks/gitea", gitea(BODY)),
        ("/api/hooks/gitea", gitea(BODY, header="X-Forgejo")),
        ("/api/hooks/gitlab", gitlab()),
    ],
    ids=["github", "gitea", "forgejo", "gitlab"],
)
def test_a_signed_push_queues_one_fetch_and_scan_with_the_pushed_commit(hooked, db_url, path, headers) -> None:
    response = hooked.post(path, content=BODY, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["queued"] is True
    (job,) = jobs(db_url)
    assert job.id == response.json()["job"] and job.state == "queued"
    assert job.want == {"refs/heads/main": "2" * 40} and job.requested_by.startswith("webhook:")


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/hooks/github", {"X-GitHub-Event": "push"}),  # no signature
        ("/api/hooks/github", github(BODY, secret="another secret")),
        ("/api/hooks/github", {**github(BODY), "X-Hub-Signature-256": "sha1=" + signature(BODY)}),
        ("/api/hooks/gitea", {"X-Gitea-Event": "push", "X-Gitea-Signature": "0" * 64}),
        ("/api/hooks/gitlab", gitlab(token="wrong")),
        ("/api/hooks/gitlab", {"X-Gitlab-Event": "Push Hook"}),
        # bytes that are not ASCII, which a header can carry (read as latin-1)
        ("/api/hooks/github", {"X-GitHub-Event": "push", "X-Hub-Signature-256": b"sha256=\xe9\xe9"}),
        ("/api/hooks/gitea", {"X-Gitea-Event": "push", "X-Gitea-Signature": b"\xff"}),
        ("/api/hooks/gitlab", {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": b"\xff" + SECRET.encode()}),
    ],
)
def test_a_bad_or_missing_signature_is_401_and_queues_nothing(hooked, db_url, path, headers) -> None:
    response = hooked.post(path, content=BODY, headers=headers)
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"status", "message", "field"}
    assert jobs(db_url) == []


def test_a_body_signed_for_other_bytes_is_refused(hooked, db_url) -> None:
    tampered = BODY.replace(b"main", b"evil")
    assert hooked.post("/api/hooks/github", content=tampered, headers=github(BODY)).status_code == 401
    assert jobs(db_url) == []


def test_without_a_configured_secret_every_delivery_is_refused(make_client, tmp_path, db_url) -> None:
    client = make_client(repo=str(tmp_path))
    response = client.post("/api/hooks/github", content=BODY, headers=github(BODY))
    assert response.status_code == 401 and "SAWMILL_WEBHOOK_SECRET" in response.json()["error"]["message"]
    assert jobs(db_url) == []


def test_ping_is_answered_and_other_events_are_acknowledged_and_ignored(hooked, db_url) -> None:
    ping = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    response = hooked.post("/api/hooks/github", content=ping, headers=github(ping, event="ping"))
    assert response.status_code == 202 and response.json() == {"event": "ping", "queued": False, "job": None}
    issue = b'{"action": "opened"}'
    assert hooked.post("/api/hooks/github", content=issue, headers=github(issue, event="issues")).json()["queued"] is False
    assert hooked.post("/api/hooks/gitlab", content=issue, headers=gitlab("Issue Hook")).json()["queued"] is False
    assert jobs(db_url) == []


def test_fifty_pushes_in_a_burst_make_one_job(hooked, db_url) -> None:
    answers = set()
    for n in range(50):
        body = json.dumps({**PUSH, "after": f"{n + 1:040x}"}).encode()
        answers.add(hooked.post("/api/hooks/github", content=body, headers=github(body)).json()["job"])
    (job,) = jobs(db_url)
    assert answers == {job.id}
    assert job.want == {"refs/heads/main": f"{50:040x}"}  # the newest push's commit


def test_a_deleted_branch_queues_a_sync_without_a_wanted_commit(hooked, db_url) -> None:
    body = json.dumps({**PUSH, "ref": "refs/heads/old", "after": "0" * 40, "deleted": True}).encode()
    assert hooked.post("/api/hooks/github", content=body, headers=github(body)).status_code == 202
    (job,) = jobs(db_url)
    assert job.want == {}


def test_a_body_over_one_mebibyte_is_413_before_it_is_read(hooked, db_url) -> None:
    big = b"{" + b" " * (1024 * 1024) + b"}"
    response = hooked.post("/api/hooks/github", content=big, headers=github(big))
    assert response.status_code == 413 and response.json()["error"]["status"] == 413

    def chunks():  # no Content-Length: the cap holds while reading the stream
        for _ in range(17):
            yield b" " * 65536

    streamed = hooked.post("/api/hooks/github", content=chunks(), headers={"X-GitHub-Event": "push"})
    assert streamed.status_code == 413
    assert jobs(db_url) == []


@pytest.mark.parametrize(
    "body",
    [b"payload=%7B%7D", b"[" * 100_000 + b"]" * 100_000, b'{"after": ' + b"9" * 5000 + b"}", b'{"ref": "\xff"}'],
    ids=["form", "nested-too-deep", "huge-number", "not-utf8"],
)
def test_a_signed_body_that_is_not_json_is_422(hooked, db_url, body) -> None:
    response = hooked.post("/api/hooks/github", content=body, headers=github(body))
    assert response.status_code == 422 and "JSON" in response.json()["error"]["message"]
    assert jobs(db_url) == []


def test_the_secret_can_come_from_a_mounted_file_with_its_trailing_newline(make_client, tmp_path, db_url) -> None:
    secret = tmp_path / "webhook-secret"
    secret.write_text(SECRET + "\n")
    client = make_client(repo=str(tmp_path), webhook_secret_file=secret)
    assert client.post("/api/hooks/github", content=BODY, headers=github(BODY)).status_code == 202
