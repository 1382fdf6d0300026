"""A database password never reaches the terminal, whether it sits in ``user:password@`` or in the
URL's query string (``?password=``, ``?sslpassword=``, which libpq reads too)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serve import free_port

ROOT = Path(__file__).resolve().parents[1]


def sawmill(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SAWMILL_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("command", ["migrate", "info"])
def test_a_password_in_the_query_string_is_masked_when_the_database_cannot_be_reached(command) -> None:
    closed = free_port()  # nothing listens there: the command fails and names the database
    url = f"postgresql://sawmill:USERpw@127.0.0.1:{closed}/sawmill?password=WRONGqs&sslpassword=KEYpw&sslmode=disable"
    done = sawmill(url, command)
    assert done.returncode == 1
    said = done.stdout + done.stderr
    assert f"127.0.0.1:{closed}/sawmill?password=***&sslmode=disable&sslpassword=***" in said, said
    assert "WRONGqs" not in said and "KEYpw" not in said and "USERpw" not in said


def test_a_password_in_the_query_string_is_masked_once_migrated(postgres_db) -> None:
    done = sawmill(f"{postgres_db}&password=RIGHTqs", "migrate")  # the test server trusts its socket
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("database ready: postgresql://") and "password=***" in done.stdout
    assert "RIGHTqs" not in done.stdout + done.stderr
