"""With the database down, pages and the API say so: 503 with Retry-After and a message naming
the database, in the format asked for; not a 500 "Something went wrong", and not where it is."""

from __future__ import annotations

import warnings

import pytest

from tests.serve import free_port


@pytest.fixture
def down():
    """The real app over a PostgreSQL URL where nothing listens (a stopped server, as the app sees it)."""
    from app.config import Settings
    from app.web.main import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    port = free_port()
    app = create_app(Settings(database_url=f"postgresql://sawmill:pw@127.0.0.1:{port}/sawmill?connect_timeout=5"))
    return TestClient(app, raise_server_exceptions=False), port


@pytest.mark.parametrize(
    ("path", "headers", "kind"),
    [("/", {}, "text/html"), ("/api/status", {}, "application/json"), ("/", {"HX-Request": "true"}, "text/html")],
    ids=["page", "api", "htmx"],
)
def test_a_database_that_cannot_be_reached_is_a_503_to_try_again(down, path, headers, kind) -> None:
    client, port = down
    response = client.get(path, headers=headers)
    assert response.status_code == 503, response.text[:300]
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"].startswith(kind)
    assert "The database cannot be reached right now; try again in a moment." in response.text
    assert str(port) not in response.text and "127.0.0.1" not in response.text
    if kind == "application/json":
        assert response.json()["error"]["status"] == 503
