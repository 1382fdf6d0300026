"""Schemathesis against /openapi.json, in process: no input makes a 5xx, every 4xx has the one error shape.

The operations are driven through Hypothesis by hand rather than with
``schemathesis.pytest.from_fixture``, which does not work under pytest 9.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from app.config import Settings
from app.store.db import session_scope
from app.store.progress_doc import import_document
from app.store.tokens import create_token
from app.web.main import create_app

from .factory import record
from .test_api_progress import DOCUMENT

ERROR_KEYS = {"status", "message", "field"}


@pytest.fixture
def fuzzed(db_url, tmp_path):
    from app.repobuilder.gitops import build_seed_repo

    record(db_url)
    with session_scope(db_url) as session:
        import_document(session, DOCUMENT.read_bytes(), who="test")
        token = create_token(session, "fuzzer")
    app = create_app(Settings(database_url=db_url, repo=build_seed_repo(tmp_path / "seed")))
    return schemathesis.openapi.from_asgi("/openapi.json", app), token


def test_no_input_causes_a_server_error(fuzzed) -> None:
    schema, token = fuzzed
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        for mode in schemathesis.GenerationMode:  # valid input, and input that breaks the schema
            try:
                check_operation(operation, mode, token)
            except Unsatisfiable:  # no parameters to break: nothing negative to send
                assert mode is schemathesis.GenerationMode.NEGATIVE


def check_operation(operation, mode, token: str) -> None:
    @given(case=operation.as_strategy(mode))
    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case) -> None:
        for headers in ({}, {"Authorization": f"Bearer {token}"}):
            response = case.call(headers=headers)
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, (where, response.text[:300])
            kind = response.headers.get("content-type", "")
            if 400 <= response.status_code < 500 and (case.path.startswith("/api") or "json" in kind):
                body = response.json()
                assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS, (where, body)
                assert body["error"]["status"] == response.status_code

    run()
