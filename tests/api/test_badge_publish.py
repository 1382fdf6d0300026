"""Badges for a private server: SAWMILL_PUBLIC_BADGES keeps them open, `sawmill badge --out`
writes them as files for CI to publish."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

BADGES = ["/badge/migration.svg", "/badge/migration.svg?group=apps", "/badge/blockers.svg",
          "/api/badge/migration", "/api/badge/migration?group=apps", "/api/badge/blockers"]  # fmt: skip


def test_badges_follow_sign_in_unless_public(scanned, make_client) -> None:
    closed = make_client(read_requires_signin=True)
    assert [closed.get(url).status_code for url in BADGES] == [401] * len(BADGES)
    public = make_client(read_requires_signin=True, public_badges=True)
    for url in BADGES:
        response = public.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "public, no-cache", url  # for everyone: a shared cache may keep it
    assert public.get("/api/status").status_code == 401  # only the badges are open
    assert public.get("/api/modules").status_code == 401
    assert public.get("/").status_code == 303  # pages still send a visitor to /signin


def test_badge_command_writes_what_the_server_answers(scanned, client, sawmill, tmp_path: Path) -> None:
    out = tmp_path / "site" / "badges"
    result = sawmill("badge", "--out", str(out))
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"{stem}.{ext}" for stem in ("migration", "blockers", "migration-apps", "migration-infrastructure")
                           for ext in ("svg", "json"))  # fmt: skip
    assert (out / "migration.svg").read_bytes() == client.get("/badge/migration.svg").content
    assert (out / "migration-apps.svg").read_bytes() == client.get("/badge/migration.svg?group=apps").content
    assert (out / "blockers.svg").read_bytes() == client.get("/badge/blockers.svg").content
    assert json.loads((out / "migration-infrastructure.json").read_text()) == client.get(
        "/api/badge/migration?group=infrastructure"
    ).json()
    assert json.loads((out / "blockers.json").read_text()) == client.get("/api/badge/blockers").json()
    ET.fromstring((out / "migration-apps.svg").read_bytes())  # well-formed


def test_badge_command_into_a_folder_it_cannot_write_is_one_line(scanned, sawmill, tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    result = sawmill("badge", "--out", str(blocked / "badges"))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert result.output.startswith(f"error: cannot write the badges to {blocked / 'badges'}")
