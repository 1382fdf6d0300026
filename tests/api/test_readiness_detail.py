"""/readyz is public (no sign-in, for probes): when the database fails it says what failed,
not where the database is or who Sawmill signs in as."""

from __future__ import annotations

import logging
import warnings

from tests.serve import free_port


def client_over(url: str):
    from app.config import Settings
    from app.web.main import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(create_app(Settings(database_url=url, read_requires_signin=True)), raise_server_exceptions=False)


def test_an_unreachable_database_is_named_in_the_probe_without_its_host_port_or_user(caplog) -> None:
    port = free_port()  # nothing listens there
    client = client_over(f"postgresql://sawmill_probe_user:pw@127.0.0.1:{port}/sawmill?connect_timeout=5")
    with caplog.at_level(logging.WARNING, logger="sawmill.web"):
        response = client.get("/readyz")
    assert response.status_code == 503
    check = response.json()["checks"]["database"]
    assert check == {"ok": False, "detail": "cannot connect to the database (psycopg.OperationalError); the server's log says more"}
    assert str(port) in caplog.text  # the operator still finds where it tried, in the log
