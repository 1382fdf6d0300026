"""The dashboard keeps itself current in a real browser: nobody presses anything."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from app.repobuilder.gitops import INFRA
from app.services.jobs import request_sync
from app.services.worker import Worker
from tests.gitserver import git_server  # noqa: F401  (fixture)
from tests.services.test_live import platform, push_migration  # noqa: F401  (fixture)

from .conftest import card

STORAGE = f"{INFRA}/storage-core"


def test_a_fresh_store_says_first_scan_then_the_board_appears_by_itself(
    platform, serve, page_for, shot, tmp_path: Path  # noqa: F811
) -> None:
    server, _ = platform
    live = serve(repo=server.url("platform"), data_dir=tmp_path / "data", worker=False)
    request_sync(live.settings, "start")  # queued; no worker runs yet
    page = page_for()
    page.goto(live.url + "/")
    expect(page.get_by_test_id("first-scan")).to_have_text("First scan in progress")
    assert page.get_by_test_id("migrated").count() == 0  # never "0 of 0"
    expect(page.get_by_test_id("job-status")).to_contain_text("Waiting to scan")
    shot(page, "first-scan")
    worker = Worker(live.settings)
    worker.start()
    try:
        expect(page.get_by_test_id("total")).to_have_text("18", timeout=30_000)
        expect(card(page, STORAGE)).to_be_visible()
        expect(page.get_by_test_id("job-status")).to_have_count(0)
    finally:
        worker.stop()


def test_a_push_moves_the_card_with_nobody_pressing_anything(
    platform, serve, page_for, shot, tmp_path: Path  # noqa: F811
) -> None:
    server, gitops = platform
    live = serve(repo=server.url("platform", private=True), git_token=server.token, data_dir=tmp_path / "data",
                 fetch_interval=1)  # fmt: skip
    page = page_for()
    page.goto(live.url + "/")
    legacy = page.locator("[data-status='legacy']").locator(f"article.card[data-modules~='{STORAGE}']")
    expect(legacy).to_be_visible(timeout=30_000)
    push_migration(gitops)
    migrated = page.locator("[data-status='migrated']").locator(f"article.card[data-modules~='{STORAGE}']")
    expect(migrated).to_be_visible(timeout=30_000)
    assert server.token not in page.content()
    shot(page, "pushed")


def test_the_last_failure_shows_over_the_last_good_scan(platform, serve, page_for, shot, tmp_path: Path) -> None:  # noqa: F811
    server, _ = platform
    live = serve(repo=server.url("platform"), data_dir=tmp_path / "data", fetch_interval=0)
    page = page_for()
    page.goto(live.url + "/")
    expect(page.get_by_test_id("total")).to_have_text("18", timeout=30_000)
    server.stop()
    request_sync(live.settings, "alice", force=True)
    expect(page.get_by_test_id("job-failed")).to_contain_text("remote unreachable", timeout=30_000)
    expect(page.get_by_test_id("total")).to_have_text("18")  # the last good scan stays
    shot(page, "failed")
