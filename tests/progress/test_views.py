"""A pinned entry is shown as pinned everywhere: the export, the module page, the document page, the API."""

from __future__ import annotations

import warnings
from datetime import date, timedelta
from html import unescape
from pathlib import Path

from app.config import Settings
from app.repobuilder.gitops import build_seed_repo
from app.services import scan_and_store
from app.store.progress_doc import export_document
from app.store.progress_sync import find_entry, pin_entry
from app.web.main import create_app
from tests.progress.conftest import run

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_a_pin_with_an_expiry_shows_as_pinned_in_every_view(seeded: str, tmp_path: Path) -> None:
    scan_and_store(seeded, build_seed_repo(tmp_path / "platform"))
    until = date.today() + timedelta(days=30)
    harbor = run(seeded, find_entry, "harbor app module").id
    run(seeded, pin_entry, harbor, "being retired", "erin", until=until)
    line = f"harbor app module (pinned until {until.isoformat()}: being retired)"
    assert f"  - [x] {line}\n" in run(seeded, export_document)
    client = TestClient(create_app(Settings(database_url=seeded)), raise_server_exceptions=False)
    module = client.get("/modules/apps/subsystems/harbor").text
    assert '<span class="badge pinned" title="being retired">pinned</span>' in module
    assert line in unescape(client.get("/document").text)
    assert line in client.get("/document.md").text
    entry = next(e for e in client.get("/api/entries").json() if e["id"] == harbor)
    assert (entry["done"], entry["pinned"], entry["pin_reason"], entry["pin_until"], entry["pinned_by"]) == (
        True, True, "being retired", until.isoformat(), "erin")  # fmt: skip


def test_a_module_no_entry_names_is_flagged_missing_from_the_document_on_its_page(seeded: str, tmp_path: Path) -> None:
    scan_and_store(seeded, build_seed_repo(tmp_path / "platform"))
    client = TestClient(create_app(Settings(database_url=seeded)), raise_server_exceptions=False)
    assert "Missing from the document" in client.get("/modules/apps/subsystems/bitwarden").text
    assert "Missing from the document" not in client.get("/modules/apps/subsystems/harbor").text
