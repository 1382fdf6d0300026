"""Schemathesis against /openapi.json, in process: no input makes a 5xx, every answer matches the schema.

The operations are driven through Hypothesis by hand rather than with
``schemathesis.pytest.from_fixture``, which does not work under pytest 9.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app.config import Settings
from app.store.db import session_scope
from app.store.progress_doc import import_document
from app.store.tokens import create_token
from app.web.main import create_app

from .factory import record
from .test_api_progress import DOCUMENT

ERROR_KEYS = {"status", "message", "field"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
NEGATIVE = schemathesis.GenerationMode.NEGATIVE


@pytest.fixture
def fuzzed(db_url, tmp_path):
    from app.repobuilder.gitops import build_seed_repo

    record(db_url)
    with session_scope(db_url) as session:
        import_document(session, DOCUMENT.read_bytes(), who="test")
        token = create_token(session, "fuzzer")
    app = create_app(Settings(database_url=db_url, repo=build_seed_repo(tmp_path / "seed")))
    return app, schemathesis.openapi.from_asgi("/openapi.json", app), token


def test_no_input_causes_a_server_error(fuzzed) -> None:
    app, schema, token = fuzzed
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} == documented(app)
    seen: dict[str, set[int]] = defaultdict(set)
    for operation in operations:
        for mode in schemathesis.GenerationMode:  # valid input, and input that breaks the schema
            try:
                check_operation(operation, mode, token, seen)
            except Unsatisfiable:  # no parameters to break: nothing negative to send
                assert mode is NEGATIVE
    # Every operation was really driven past the identity check, not refused at the door
    # (webhooks excepted: no fuzzed body carries a valid signature; tests/api/test_webhooks.py signs them).
    assert all(codes - {401, 403} for label, codes in seen.items() if "/api/hooks/" not in label), dict(seen)
    reads = [op for op in operations if op.method == "get" and "{" not in op.path]
    assert all(any(200 <= c < 300 for c in seen[op.label]) for op in reads), dict(seen)


def test_the_fuzzing_finds_a_server_error(fuzzed) -> None:
    """The check above can fail: an operation that breaks on some input is caught."""
    app, _, token = fuzzed

    @app.get("/api/fragile/{n}", response_model=int)
    def fragile(n: int) -> int:  # the bug an unbounded id once was: fine until a number passes 32 bits
        return len(n.to_bytes(4, "big", signed=True))

    app.openapi_schema = None
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = schema["/api/fragile/{n}"]["GET"]
    with pytest.raises(Exception) as caught:  # noqa: PT011  (a failed check, or the error itself)
        check_operation(operation, schemathesis.GenerationMode.POSITIVE, token, defaultdict(set), examples=100)
    assert "500" in str(caught.value) or isinstance(caught.value, OverflowError), caught.value


def documented(app: FastAPI) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops}


def check_operation(operation, mode, token: str, seen: dict[str, set[int]], examples: int = 20) -> None:
    @given(case=operation.as_strategy(mode))
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case) -> None:
        for headers in ({}, {"Authorization": f"Bearer {token}"}):
            response = case.call(headers=headers)
            where = f"{case.method} {case.formatted_path}"
            seen[operation.label].add(response.status_code)
            assert response.status_code < 500, (where, response.text[:300])
            if mode is not NEGATIVE:  # broken input may still be valid for a lax schema: only the status counts
                case.validate_response(response, checks=CHECKS)
            kind = response.headers.get("content-type", "")
            if 400 <= response.status_code < 500 and (case.path.startswith("/api") or "json" in kind):
                body = response.json()
                assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS, (where, body)
                assert body["error"]["status"] == response.status_code

    run()


def test_every_operation_documents_its_answers(client) -> None:
    """A 2xx with a schema (204 aside), every 4xx in the one error shape: no FastAPI default left over."""
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            answers = operation["responses"]
            ok = [code for code in answers if code.startswith("2")]
            assert len(ok) == 1, where
            if ok[0] != "204":
                assert all(media.get("schema") for media in answers[ok[0]]["content"].values()), where
            assert "401" in answers or path in ("/api/ping", "/healthz", "/readyz"), where  # reads can be closed by a setting; probes never
            if operation.get("parameters") or operation.get("requestBody"):
                assert "422" in answers, where
            for code, answer in answers.items():
                json_schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
                if code.startswith("4") and json_schema:
                    assert json_schema == {"$ref": "#/components/schemas/ErrorOut"}, (where, code)
