"""``POST /api/reports``: auth, every bad input refused in the one error shape with nothing stored,
and what the API reads back (status, module, badge)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.store.db import session_scope
from app.store.reports import Report, ReportTest

from .conftest import CORE, NETWORKING, STORAGE_CORE
from .samples import WRITERS, failing, passing

ERROR = "v1/Deployment/traefik/traefik: .status.readyReplicas: Invalid value: 0: Expected value: 1"
XML = {"Content-Type": "application/xml"}
JSON = {"Content-Type": "application/json"}


def post(client, token: str | None, body: bytes, headers: dict | None = None, **query):
    headers = {**(headers or XML), **({"Authorization": f"Bearer {token}"} if token else {})}
    return client.post("/api/reports", params=query, content=body, headers=headers)


def stored(db_url: str, platform) -> tuple[int, int]:
    with session_scope(db_url, platform.key) as session:
        return len(session.exec(select(Report)).all()), len(session.exec(select(ReportTest)).all())


def test_a_report_is_taken_and_read_back(client, token: str, platform) -> None:
    body = WRITERS["JUNIT-OPERATION"]([failing(NETWORKING, "infra-networking", ERROR)])
    answer = post(client, token, body, commit=platform.first, branch="main", run_url="https://ci.example/runs/7")
    assert answer.status_code == 201, answer.text
    out = answer.json()
    assert (out["format"], out["failed"], out["created"], out["waiting"], out["unmatched"]) == ("JUNIT-OPERATION", 1, True, False, 0)
    again = post(client, token, body, commit=platform.first)  # a retried upload: the same report, stored once
    assert again.status_code == 201 and again.json()["id"] == out["id"] and again.json()["created"] is False
    elsewhere = post(client, token, body, commit=platform.second)  # one run cannot be a run of two commits
    assert elsewhere.status_code == 409 and f"for commit {platform.first[:12]}" in elsewhere.json()["error"]["message"]
    module = client.get(f"/api/modules/{CORE}").json()["tests"]
    assert module["status"] == "failed" and module["last"]["run_url"] == "https://ci.example/runs/7"
    assert (module["failure"]["failed_step"], module["failure"]["failed_operation"], module["failure"]["error"]) == (
        "Validate networking-core", "assert-2", ERROR,
    )  # fmt: skip
    tests = client.get("/api/status").json()["tests"]
    assert tests["failing"] == [CORE, "infrastructure/subsystems/networking-extra"] and tests["passing"] == 0
    assert tests["not_run"] == [STORAGE_CORE]
    badge = client.get("/api/badge/tests").json()
    assert badge["label"] == "tests" and badge["message"] == "0/3 passing · 2 failing" and badge["color"] == "red"
    assert "0/3 passing" in client.get("/badge/tests.svg").text


def test_the_status_and_badge_follow_a_new_report(client, token: str, platform) -> None:
    assert client.get("/api/badge/tests").json()["message"] == "no reports"
    post(client, token, WRITERS["JSON"]([passing(NETWORKING, "infra-networking")]), JSON, commit=platform.first)
    assert client.get("/api/status").json()["tests"]["passing"] == 2
    assert client.get("/api/badge/tests").json()["message"] == "2/3 passing"


def test_no_token_is_a_401_and_stores_nothing(client, db_url: str, platform) -> None:
    answer = post(client, None, WRITERS["JSON"]([passing(NETWORKING, "infra-networking")]), JSON, commit=platform.first)
    assert answer.status_code == 401 and set(answer.json()["error"]) == {"status", "message", "field"}
    assert post(client, "not-a-token", b"{}", JSON, commit=platform.first).status_code == 401
    assert stored(db_url, platform) == (0, 0)


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<testsuites name="&lol3;"><testsuite name="x"><testcase name="y"/></testsuite></testsuites>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<testsuites name="r"><testsuite name="x"><testcase name="&secret;"/></testsuite></testsuites>"""


@pytest.mark.parametrize(
    ("body", "headers", "query", "status", "says"),
    [
        (b'{"name": "r", "tests": [', JSON, {}, 422, "malformed JSON"),
        (b"<testsuites><testsuite name='x'>", XML, {}, 422, "malformed XML"),
        (BOMB, XML, {}, 422, "DOCTYPE"),
        (EXTERNAL, XML, {}, 422, "DOCTYPE"),
        (b"<html><body>hello</body></html>", XML, {}, 422, "not a chainsaw report"),
        (b'{"hello": "world"}', JSON, {}, 422, "not a chainsaw JSON report"),
        (b"tests: []", {"Content-Type": "application/json"}, {}, 422, "neither JSON nor XML"),
        (b"", XML, {}, 422, "empty"),
        (b"<testsuites/>", {"Content-Type": "application/x-www-form-urlencoded"}, {}, 415, "Content-Type"),
        (b"<testsuites/>", {"Content-Type": "text/html"}, {}, 415, "Content-Type"),
        (b"<testsuites/>", {**XML, "Content-Encoding": "gzip"}, {}, 415, "uncompressed"),
        (b"<testsuites/>", XML, {"commit": "f" * 40}, 422, "unknown commit"),
        (b"<testsuites/>", XML, {"commit": "main; rm -rf"}, 422, "commit must be a commit sha"),
        (b"<testsuites/>", XML, {"commit": None}, 422, "required"),
        (b"<testsuites/>", XML, {"run_url": "javascript:alert(1)"}, 422, "run_url"),
        (b"<testsuites/>", XML, {"run_url": "https://ci.example/run/1\x00x"}, 422, "run_url"),
        (b'<?xml version="1.0" encoding="bogus"?><testsuites/>', XML, {}, 422, "malformed XML"),
        (b'<?xml version="1.0" encoding="utf-32"?><testsuites/>', XML, {}, 422, "malformed XML"),
    ],
    ids=["json", "xml", "bomb", "external-entity", "other-xml", "other-json", "yaml", "empty", "form", "html",
         "gzip", "unknown-commit", "not-a-sha", "no-commit", "script-url", "nul-url", "unknown-encoding",
         "multibyte-encoding"],  # fmt: skip
)
def test_bad_input_is_refused_naming_the_problem(client, token, db_url, platform, body, headers, query, status, says) -> None:
    query = {"commit": platform.first, **query}
    answer = post(client, token, body, headers, **{k: v for k, v in query.items() if v is not None})
    assert answer.status_code == status, answer.text
    assert says in answer.json()["error"]["message"]
    assert stored(db_url, platform) == (0, 0)


def test_a_report_over_10_mib_is_refused_before_it_is_read_whole(client, token, db_url, platform) -> None:
    big = b"<testsuites>" + b" " * (10 * 2**20) + b"</testsuites>"
    answer = post(client, token, big, commit=platform.first)
    assert answer.status_code == 413 and "10,485,760 bytes" in answer.json()["error"]["message"]

    def chunks():  # no Content-Length: the cap counts the bytes as they come
        yield b"<testsuites>"
        for _ in range(11):
            yield b" " * 2**20

    answer = client.post("/api/reports", params={"commit": platform.first}, content=chunks(),
                         headers={**XML, "Authorization": f"Bearer {token}"})  # fmt: skip
    assert answer.status_code == 413
    assert stored(db_url, platform) == (0, 0)


def test_an_abbreviated_commit_is_completed(client, token, platform) -> None:
    answer = post(client, token, WRITERS["XML"]([passing(NETWORKING, "infra-networking")]), commit=platform.first[:10])
    assert answer.status_code == 201 and answer.json()["commit"] == platform.first


def test_a_report_larger_than_other_bodies_but_under_10_mib_is_taken(client, token, platform) -> None:
    cases = [failing(NETWORKING, f"infra-networking-{n}", ERROR * 20) for n in range(1500)]
    body = WRITERS["JUNIT-TEST"](cases)
    assert 2 * 2**20 < len(body) < 10 * 2**20  # past the 1 MiB every other body is held to
    answer = post(client, token, body, commit=platform.first)
    assert answer.status_code == 201, answer.text
    assert (answer.json()["tests"], answer.json()["unmatched"]) == (1500, 0)  # each matched by its folder


def test_the_reports_received_last_list_their_unmatched_tests(client, token, platform) -> None:
    body = WRITERS["JSON"]([passing(NETWORKING, "infra-networking"), failing("ci/test/apps-media", "apps-media", "x")])
    sent = post(client, token, body, JSON, commit=platform.first).json()
    assert sent["unmatched_tests"] == [{"name": "apps-media", "folder": "ci/test/apps-media"}]
    waiting = post(client, token, WRITERS["XML"]([passing(NETWORKING, "x")]), commit=platform.second).json()
    assert waiting["waiting"] and waiting["unmatched"] == 0
    listed = client.get("/api/reports").json()
    assert [(r["id"], r["waiting"], r["unmatched"]) for r in listed] == [(waiting["id"], True, 0), (sent["id"], False, 1)]
