"""The history on the overview and in /api/status, in process over a real repository and database."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime

from app.config import Settings
from app.repobuilder.gitops import INFRA, GitOps
from app.services import scan_and_store
from app.web.main import create_app
from tests.history.conftest import B_CORE, base

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

NETWORKING = f"{INFRA}/networking-core"


def event_lines(page: str) -> list[str]:
    """The overview's event list as a reader sees it: tags dropped, spaces collapsed."""
    events = page.split('data-testid="history-events"', 1)[1].split("</ol>", 1)[0]
    items = re.findall(r"<li[^>]*>(.*?)</li>", events, re.DOTALL)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()).replace(" ,", ",") for item in items]


def test_the_overview_lists_events_as_the_issue_writes_them(gitops: GitOps, days, db_url: str) -> None:
    base(gitops, days())
    gitops.add_module(NETWORKING)
    gitops.add_legacy_suite("infra-networking", [NETWORKING])
    gitops.commit("feat: networking", date=days())
    moved = gitops.migrate_suite("infra-networking", pr=1010, date=datetime(2025, 3, 30, 12, tzinfo=UTC))
    gitops.builder.flush()
    scan_and_store(db_url, gitops.builder.path)

    page = TestClient(create_app(Settings(database_url=db_url))).get("/").text
    lines = event_lines(page)
    assert lines[0] == f"networking-core → migrated, 2025-03-30, {moved.sha[:8]} (#1010)"  # newest first
    assert lines[1].startswith("networking-core → legacy (new), ")


def test_status_api_and_overview_show_a_standing_regression(gitops: GitOps, days, db_url: str) -> None:
    base(gitops, days())
    gitops.migrate_suite("infra-b", pr=7, date=days())
    gitops.builder.delete("ci/test/infra-b/chainsaw-test.yaml")
    broke = gitops.commit("chore: drop the b test (#8)", date=days())
    gitops.builder.flush()
    scan_and_store(db_url, gitops.builder.path)

    client = TestClient(create_app(Settings(database_url=db_url)))
    found = client.get("/api/status").json()["regressions"]
    assert [(e["module"], e["from"], e["to"], e["commit"], e["pr"]) for e in found] == [
        (B_CORE, "migrated", "untested", broke.sha, 8)
    ]
    page = client.get("/").text
    regressions = page.split('data-testid="regressions"', 1)[1].split("</div>", 1)[0]
    assert "b-core" in regressions and broke.sha[:8] in regressions and "(#8)" in regressions
    assert "regression" in event_lines(page)[0]
