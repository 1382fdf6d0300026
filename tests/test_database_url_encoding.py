"""What docs/deploy.md says of the database URL holds: a password holding ``@ / : %`` works once
percent-encoded, all the way through the migrations (Alembic's config reads ``%`` itself)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

from app.store.db import driver_url

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "p@ss/w:rd%"


def test_the_documented_encoding_gives_the_password_back() -> None:
    assert quote(PASSWORD, safe="") == "p%40ss%2Fw%3Ard%25"  # as the page shows it
    assert make_url(driver_url(f"postgresql://sawmill:{quote(PASSWORD, safe='')}@db.example:5432/sawmill")).password == PASSWORD
    assert "p%40ss%2Fw%3Ard%25" in (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")


def test_an_encoded_password_in_either_form_migrates_and_is_never_printed(postgres_db) -> None:
    user, _, rest = postgres_db.partition("@")  # postgresql://sawmill@/t_1?host=...: trusted, the password is carried
    for url in (f"{user}:{quote(PASSWORD, safe='')}@{rest}", f"{postgres_db}&password={quote(PASSWORD, safe='')}"):
        done = subprocess.run(
            [sys.executable, "-c", "from app.cli import main; main()", "migrate"],
            cwd=ROOT, env={**os.environ, "SAWMILL_DATABASE_URL": url}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "p%40ss" not in done.stdout + done.stderr and "***" in done.stdout
